//! `OpticalDistortion` (albumentations 0.3.1): the map of `cv2.initUndistortRectifyMap` with
//! `K = [[W, 0, W/2 + dx], [0, W, H/2 + dy], [0, 0, 1]]` (float32), `D = (k, k, 0, 0, 0)`, then remap.
//!
//! The map is reproduced bit for bit, including how OpenCV 4.8 evaluates it on an AVX2+FMA3 CPU
//! (the machine type that produced the fixtures): `initUndistortRectifyMapComputer` runs 8 pixels
//! per step with fused multiply-adds and a running `_x += 8 * ir[0]`, and the remaining `W % 8`
//! pixels of each row one at a time (`_x += ir[0]`), where GCC contracts the same expressions.
//! Per pixel, with `(x, y)` the normalised destination coordinates:
//! `r2 = x*x + y*y; kr = fma(fma(k, r2, k), r2, 1); u = fma(fx, x*kr, cx); v = fma(fy, y*kr, cy)`.

use super::geometry::{remap_row, BorderMode, Interpolation};
use super::rng::uniform;
use super::scratch::{is_blank_mask, replace_image};
use super::transform::Prob;
use super::ImageU8;
use rand::Rng;

/// albumentations 0.3.1 `OpticalDistortion(distort_limit, shift_limit)`.
#[derive(Clone, Debug, PartialEq)]
pub struct OpticalDistortion {
    /// Range of k (k1 = k2 = k).
    pub distort_limit: (f64, f64),
    /// Range of the principal-point shift in pixels, rounded half-to-even (so (-0.5, 0.5) gives 0).
    pub shift_limit: (f64, f64),
    /// Image interpolation (the mask always uses nearest).
    pub interpolation: Interpolation,
    /// Border for the image.
    pub border: BorderMode,
    /// Border for the mask.
    pub mask_border: BorderMode,
    /// When it runs.
    pub prob: Prob,
}

/// Parameters of one OpticalDistortion application.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpticalParams {
    /// Radial coefficient (k1 = k2 = k).
    pub k: f64,
    /// Principal-point shift in x (pixels).
    pub dx: i64,
    /// Principal-point shift in y (pixels).
    pub dy: i64,
}

impl OpticalDistortion {
    /// Draws k, then dx and dy (Python's `round`: half to even).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> OpticalParams {
        let k = uniform(rng, self.distort_limit.0, self.distort_limit.1);
        let dx = uniform(rng, self.shift_limit.0, self.shift_limit.1).round_ties_even() as i64;
        let dy = uniform(rng, self.shift_limit.0, self.shift_limit.1).round_ties_even() as i64;
        OpticalParams { k, dx, dy }
    }

    /// Remaps image and mask through the same map (computed one row at a time, shared by both).
    pub fn apply(&self, p: &OpticalParams, image: &mut ImageU8, mask: Option<&mut ImageU8>) {
        let (w, h) = (image.width(), image.height());
        let c = map_consts(p, w, h);
        let mask = mask.filter(|m| !is_blank_mask(m, self.mask_border));
        let src_mask = mask.as_ref().map(|m| (*m).clone());
        let (mut mx, mut my) = (vec![0f32; w], vec![0f32; w]);
        let (mut xs, mut ys) = (vec![0i32; w], vec![0i32; w]);
        let mut mask_out = src_mask.as_ref().map(|_| ImageU8::new(w, h));
        replace_image(image, w, h, |src, out| {
            for i in 0..h {
                fill_rows(&c, w, i, &mut mx, &mut my);
                remap_row(
                    src,
                    &mx,
                    &my,
                    self.interpolation,
                    self.border,
                    &mut xs,
                    &mut ys,
                    out.row_mut(i),
                );
                if let (Some(sm), Some(mo)) = (&src_mask, &mut mask_out) {
                    remap_row(
                        sm,
                        &mx,
                        &my,
                        Interpolation::Nearest,
                        self.mask_border,
                        &mut xs,
                        &mut ys,
                        mo.row_mut(i),
                    );
                }
            }
        });
        if let (Some(m), Some(out)) = (mask, mask_out) {
            *m = out;
        }
    }
}

/// The float32 maps `(map_x, map_y)` of `cv2.initUndistortRectifyMap` for these parameters.
pub fn optical_map(p: &OpticalParams, width: usize, height: usize) -> (Vec<f32>, Vec<f32>) {
    let c = map_consts(p, width, height);
    let mut map_x = vec![0f32; width * height];
    let mut map_y = vec![0f32; width * height];
    for i in 0..height {
        let (rx, ry) = (
            &mut map_x[i * width..(i + 1) * width],
            &mut map_y[i * width..(i + 1) * width],
        );
        fill_rows(&c, width, i, rx, ry);
    }
    (map_x, map_y)
}

fn map_consts(p: &OpticalParams, width: usize, height: usize) -> MapConsts {
    let (wf, hf) = (width as f64, height as f64);
    // camera matrix as float32, then converted to double by OpenCV
    let fx = f64::from(wf as f32);
    let fy = f64::from(wf as f32);
    let u0 = f64::from((wf * 0.5 + p.dx as f64) as f32);
    let v0 = f64::from((hf * 0.5 + p.dy as f64) as f32);
    let k = f64::from(p.k as f32);
    // getDefaultNewCameraMatrix(centerPrincipalPoint=true) and its 3x3 inverse (cv::invert, n == 3)
    let (ncx, ncy) = ((wf - 1.0) * 0.5, (hf - 1.0) * 0.5);
    MapConsts {
        ir: invert_camera(fx, fy, ncx, ncy),
        k,
        fx,
        fy,
        u0,
        v0,
    }
}

struct MapConsts {
    ir: [f64; 9],
    k: f64,
    fx: f64,
    fy: f64,
    u0: f64,
    v0: f64,
}

/// Map row `i` (`width` values each of x and y).
fn fill_rows(c: &MapConsts, width: usize, i: usize, row_x: &mut [f32], row_y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2")
        {
            // SAFETY: the CPU supports FMA and AVX2 (checked just above).
            unsafe { fill_row_fma(c, width, i, row_x, row_y) };
            return;
        }
    }
    fill_row(c, width, i, row_x, row_y);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma,avx2")]
unsafe fn fill_row_fma(
    c: &MapConsts,
    width: usize,
    i: usize,
    row_x: &mut [f32],
    row_y: &mut [f32],
) {
    fill_row(c, width, i, row_x, row_y);
}

/// `f64::mul_add` is a single rounding whether it compiles to `vfmadd` (inside [`fill_row_fma`])
/// or to the software routine, so both paths give identical maps.
#[inline(always)]
fn fill_row(c: &MapConsts, width: usize, i: usize, row_x: &mut [f32], row_y: &mut [f32]) {
    let ir = &c.ir;
    let fi = i as f64;
    let mut xs = fi * ir[1] + ir[2];
    let ys = fi * ir[4] + ir[5];
    let ws = fi * ir[7] + ir[8];
    let winv = 1.0 / ws;
    let y = ys * winv;
    let yy = y * y;
    let mut j = 0;
    // SIMD blocks of 8: lane l uses xs + ir[0] * l; xs advances by 8 * ir[0] per block.
    while j + 8 <= width {
        for l in 0..8 {
            let x = (xs + ir[0] * l as f64) * winv;
            let (u, v) = distort(x, y, yy, c);
            row_x[j + l] = u as f32;
            row_y[j + l] = v as f32;
        }
        xs += 8.0 * ir[0];
        j += 8;
    }
    // scalar tail
    while j < width {
        let x = xs * winv;
        let (u, v) = distort(x, y, yy, c);
        row_x[j] = u as f32;
        row_y[j] = v as f32;
        xs += ir[0];
        j += 1;
    }
}

#[inline(always)]
fn distort(x: f64, y: f64, yy: f64, c: &MapConsts) -> (f64, f64) {
    let r2 = x * x + yy;
    let kr = c.k.mul_add(r2, c.k).mul_add(r2, 1.0);
    (c.fx.mul_add(x * kr, c.u0), c.fy.mul_add(y * kr, c.v0))
}

/// `cv::invert(DECOMP_LU)` of `[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]` via OpenCV's 3x3 cofactor
/// formulas (`d = 1 / det3`, each entry `(a*b - c*e) * d`).
fn invert_camera(fx: f64, fy: f64, cx: f64, cy: f64) -> [f64; 9] {
    let s = [[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]];
    let det = s[0][0] * (s[1][1] * s[2][2] - s[1][2] * s[2][1])
        - s[0][1] * (s[1][0] * s[2][2] - s[1][2] * s[2][0])
        + s[0][2] * (s[1][0] * s[2][1] - s[1][1] * s[2][0]);
    let d = 1.0 / det;
    [
        (s[1][1] * s[2][2] - s[1][2] * s[2][1]) * d,
        (s[0][2] * s[2][1] - s[0][1] * s[2][2]) * d,
        (s[0][1] * s[1][2] - s[0][2] * s[1][1]) * d,
        (s[1][2] * s[2][0] - s[1][0] * s[2][2]) * d,
        (s[0][0] * s[2][2] - s[0][2] * s[2][0]) * d,
        (s[0][2] * s[1][0] - s[0][0] * s[1][2]) * d,
        (s[1][0] * s[2][1] - s[1][1] * s[2][0]) * d,
        (s[0][1] * s[2][0] - s[0][0] * s[2][1]) * d,
        (s[0][0] * s[1][1] - s[0][1] * s[1][0]) * d,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_zero_is_a_half_pixel_shift() {
        let (mx, my) = optical_map(
            &OpticalParams {
                k: 0.0,
                dx: 0,
                dy: 0,
            },
            12,
            9,
        );
        for v in 0..9 {
            for u in 0..12 {
                assert!((mx[v * 12 + u] - (u as f32 + 0.5)).abs() < 1e-4);
                assert!((my[v * 12 + u] - (v as f32 + 0.5)).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn positive_k_samples_farther_out_at_the_corner() {
        let (mx, my) = optical_map(
            &OpticalParams {
                k: 2.0,
                dx: 0,
                dy: 0,
            },
            64,
            64,
        );
        // corner (0, 0): r^2 = 2 * (31.5/64)^2 ~ 0.48, f = 1 + 2 r^2 + 2 r^4 ~ 2.43
        assert!(mx[0] < -40.0 && my[0] < -40.0, "{} {}", mx[0], my[0]);
    }
}
