//! `OpticalDistortion` (albumentations 0.3.1): the map of `cv2.initUndistortRectifyMap` with
//! `K = [[W, 0, W/2 + dx], [0, W, H/2 + dy], [0, 0, 1]]` (float32), `D = (k, k, 0, 0, 0)`, then remap.
//!
//! The map is reproduced bit for bit, including how OpenCV 4.8 evaluates it on an AVX2+FMA3 CPU
//! (the machine type that produced the fixtures): `initUndistortRectifyMapComputer` runs 8 pixels
//! per step with fused multiply-adds and a running `_x += 8 * ir[0]`, and the remaining `W % 8`
//! pixels of each row one at a time (`_x += ir[0]`), where GCC contracts the same expressions.
//! Per pixel, with `(x, y)` the normalised destination coordinates:
//! `r2 = x*x + y*y; kr = fma(fma(k, r2, k), r2, 1); u = fma(fx, x*kr, cx); v = fma(fy, y*kr, cy)`.

use super::geometry::{BorderMode, Interpolation, RowSampler};
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
        let (mut mx, mut my) = (vec![0f32; w], vec![0f32; w]);
        match mask.filter(|m| !is_blank_mask(m, self.mask_border)) {
            None => replace_image(image, w, h, |src, out| {
                let mut rs = RowSampler::new(src, self.interpolation, self.border);
                for i in 0..h {
                    fill_rows(&c, w, i, &mut mx, &mut my);
                    rs.row(&mx, &my, out.row_mut(i));
                }
            }),
            Some(mask) => {
                let (mw, mh) = (mask.width(), mask.height());
                assert_eq!((mw, mh), (w, h), "mask size");
                replace_image(image, w, h, |src, out| {
                    replace_image(mask, w, h, |msrc, mout| {
                        let mut rs = RowSampler::new(src, self.interpolation, self.border);
                        let mut ms =
                            RowSampler::new(msrc, Interpolation::Nearest, self.mask_border);
                        for i in 0..h {
                            fill_rows(&c, w, i, &mut mx, &mut my);
                            rs.row(&mx, &my, out.row_mut(i));
                            ms.row(&mx, &my, mout.row_mut(i));
                        }
                    })
                })
            }
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
        if super::cpu::avx2_fma() {
            // SAFETY: the CPU supports FMA and AVX2 (checked just above).
            unsafe { fill_row_fma(c, width, i, row_x, row_y) };
            return;
        }
    }
    fill_row(c, width, i, row_x, row_y);
}

/// [`fill_row`] with the 8-pixel blocks as two AVX2 vectors of 4 doubles: the same IEEE
/// operations per pixel in the same order (`_mm256_fmadd_pd` is `f64::mul_add`), so the maps
/// are identical.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma,avx2")]
unsafe fn fill_row_fma(
    c: &MapConsts,
    width: usize,
    i: usize,
    row_x: &mut [f32],
    row_y: &mut [f32],
) {
    use std::arch::x86_64::*;
    assert!(row_x.len() >= width && row_y.len() >= width, "map rows");
    let ir = &c.ir;
    let fi = i as f64;
    let mut xs = fi * ir[1] + ir[2];
    let ys = fi * ir[4] + ir[5];
    let ws = fi * ir[7] + ir[8];
    let winv = 1.0 / ws;
    let y = ys * winv;
    let yy = y * y;
    let (vir0, vwinv, vyy, vy) = (
        _mm256_set1_pd(ir[0]),
        _mm256_set1_pd(winv),
        _mm256_set1_pd(yy),
        _mm256_set1_pd(y),
    );
    let (vk, one) = (_mm256_set1_pd(c.k), _mm256_set1_pd(1.0));
    let (vfx, vfy, vu0, vv0) = (
        _mm256_set1_pd(c.fx),
        _mm256_set1_pd(c.fy),
        _mm256_set1_pd(c.u0),
        _mm256_set1_pd(c.v0),
    );
    let lanes = [
        _mm256_setr_pd(0.0, 1.0, 2.0, 3.0),
        _mm256_setr_pd(4.0, 5.0, 6.0, 7.0),
    ];
    let mut j = 0;
    while j + 8 <= width {
        let vxs = _mm256_set1_pd(xs);
        for (h, &l) in lanes.iter().enumerate() {
            let x = _mm256_mul_pd(_mm256_add_pd(vxs, _mm256_mul_pd(vir0, l)), vwinv);
            let r2 = _mm256_add_pd(_mm256_mul_pd(x, x), vyy);
            let kr = _mm256_fmadd_pd(_mm256_fmadd_pd(vk, r2, vk), r2, one);
            let u = _mm256_fmadd_pd(vfx, _mm256_mul_pd(x, kr), vu0);
            let v = _mm256_fmadd_pd(vfy, _mm256_mul_pd(vy, kr), vv0);
            _mm_storeu_ps(row_x.as_mut_ptr().add(j + 4 * h), _mm256_cvtpd_ps(u));
            _mm_storeu_ps(row_y.as_mut_ptr().add(j + 4 * h), _mm256_cvtpd_ps(v));
        }
        xs += 8.0 * ir[0];
        j += 8;
    }
    fill_tail(c, (xs, winv, y, yy), j..width, row_x, row_y);
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
    fill_tail(c, (xs, winv, y, yy), j..width, row_x, row_y);
}

/// The scalar tail of a row over the columns `cols`; `at = (xs, winv, y, yy)` as the row left them.
#[inline(always)]
fn fill_tail(
    c: &MapConsts,
    at: (f64, f64, f64, f64),
    cols: std::ops::Range<usize>,
    row_x: &mut [f32],
    row_y: &mut [f32],
) {
    let (mut xs, winv, y, yy) = at;
    for (u_out, v_out) in row_x[cols.clone()].iter_mut().zip(&mut row_y[cols]) {
        let (u, v) = distort(xs * winv, y, yy, c);
        *u_out = u as f32;
        *v_out = v as f32;
        xs += c.ir[0];
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
    fn simd_map_rows_equal_the_scalar_rows() {
        let bits = |x: &[f32], y: &[f32]| {
            let b = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            (b(x), b(y))
        };
        for (w, h) in [(1024, 3), (96, 128), (37, 5)] {
            for k in [-2.0, -1.37, -0.25, 0.0, 0.61, 2.0] {
                for (dx, dy) in [(0, 0), (1, -1)] {
                    let c = map_consts(&OpticalParams { k, dx, dy }, w, h);
                    for i in 0..h {
                        let (mut ax, mut ay) = (vec![0f32; w], vec![0f32; w]);
                        let (mut bx, mut by) = (vec![0f32; w], vec![0f32; w]);
                        fill_rows(&c, w, i, &mut ax, &mut ay);
                        fill_row(&c, w, i, &mut bx, &mut by);
                        assert_eq!(bits(&ax, &ay), bits(&bx, &by), "{w}x{h} k={k} row {i}");
                        // the dispatch with SIMD off runs the portable row
                        let (mut sx, mut sy) = (vec![0f32; w], vec![0f32; w]);
                        crate::augment::cpu::with_scalar(|| fill_rows(&c, w, i, &mut sx, &mut sy));
                        assert_eq!(
                            bits(&sx, &sy),
                            bits(&ax, &ay),
                            "{w}x{h} k={k} row {i} (scalar)"
                        );
                    }
                }
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
