//! `cv::warpAffine` for 8-bit images (the 10-bit fixed-point walk) and the matrix helpers
//! `getRotationMatrix2D`, `getAffineTransform` (6x6 LU) and warpAffine's own 2x3 inversion.
//!
//! Reference: OpenCV 4.x modules/imgproc/src/imgwarp.cpp (`warpAffine`, `WarpAffineInvoker`,
//! `warpAffineBlockline[NN]`), core/src/matrix_decomp.cpp (`LUImpl`).

use super::border::BorderMode;
#[cfg(target_arch = "x86_64")]
use super::kernel::simd;
use super::kernel::{linear_r101, nearest_r101, Coords, Geom, Lanes, Support};
use super::sampler::{
    cv_round_f64 as cv_round, linear_row_generic, nearest_row_generic, sat16, Interpolation,
};
use crate::augment::ImageU8;

/// A forward 2x3 affine matrix (input -> output), row-major `[m00, m01, m02, m10, m11, m12]`,
/// as albumentations passes it to `cv2.warpAffine`.
pub type Affine = [f64; 6];

const AB_SCALE: f64 = 1024.0;

/// `cv2.getRotationMatrix2D(center, angle, scale)` with `center` as OpenCV's `Point2f`.
/// Positive angles rotate counter-clockwise as seen on screen (y down).
pub fn rotation_matrix_2d(cx: f32, cy: f32, angle_deg: f64, scale: f64) -> Affine {
    let angle = angle_deg * (std::f64::consts::PI / 180.0);
    let alpha = angle.cos() * scale;
    let beta = angle.sin() * scale;
    let (cx, cy) = (f64::from(cx), f64::from(cy));
    [
        alpha,
        beta,
        (1.0 - alpha) * cx - beta * cy,
        -beta,
        alpha,
        beta * cx + (1.0 - alpha) * cy,
    ]
}

/// The inversion `cv::warpAffine` applies to a forward matrix (determinant formula, float64).
pub fn invert_affine(m: &Affine) -> Affine {
    let [m0, m1, m2, m3, m4, m5] = *m;
    let d = m0 * m4 - m1 * m3;
    let d = if d != 0.0 { 1.0 / d } else { 0.0 };
    let a11 = m4 * d;
    let a22 = m0 * d;
    let n0 = a11;
    let n1 = m1 * -d;
    let n3 = m3 * -d;
    let n4 = a22;
    let b1 = -n0 * m2 - n1 * m5;
    let b2 = -n3 * m2 - n4 * m5;
    [n0, n1, b1, n3, n4, b2]
}

/// `cv2.getAffineTransform(src, dst)`: the affine mapping three `Point2f` onto three others,
/// solved as OpenCV does (6x6 system, `LUImpl<double>` with partial pivoting).
/// Returns `None` for degenerate (collinear) points.
pub fn affine_from_points(src: [[f32; 2]; 3], dst: [[f32; 2]; 3]) -> Option<Affine> {
    let mut a = [0.0f64; 36];
    let mut b = [0.0f64; 6];
    for i in 0..3 {
        let j = i * 12;
        let k = i * 12 + 6;
        let (sx, sy) = (f64::from(src[i][0]), f64::from(src[i][1]));
        a[j] = sx;
        a[k + 3] = sx;
        a[j + 1] = sy;
        a[k + 4] = sy;
        a[j + 2] = 1.0;
        a[k + 5] = 1.0;
        b[i * 2] = f64::from(dst[i][0]);
        b[i * 2 + 1] = f64::from(dst[i][1]);
    }
    lu_solve(&mut a, &mut b, 6).then_some(b)
}

/// OpenCV 4.8's `LUImpl<double>` (eps = 100 * DBL_EPSILON) for one right-hand side, in place:
/// partial pivoting, elimination with `d = -1 / pivot`, back-substitution dividing by the pivot.
fn lu_solve(a: &mut [f64], b: &mut [f64], m: usize) -> bool {
    let eps = 100.0 * f64::EPSILON;
    for i in 0..m {
        let mut k = i;
        for j in i + 1..m {
            if a[j * m + i].abs() > a[k * m + i].abs() {
                k = j;
            }
        }
        if a[k * m + i].abs() < eps {
            return false;
        }
        if k != i {
            for j in i..m {
                a.swap(i * m + j, k * m + j);
            }
            b.swap(i, k);
        }
        let d = -1.0 / a[i * m + i];
        for j in i + 1..m {
            let alpha = a[j * m + i] * d;
            for k in i + 1..m {
                a[j * m + k] += alpha * a[i * m + k];
            }
            b[j] += alpha * b[i];
        }
    }
    for i in (0..m).rev() {
        let mut s = b[i];
        for k in i + 1..m {
            s -= a[i * m + k] * b[k];
        }
        b[i] = s / a[i * m + i];
    }
    true
}

/// `cv2.warpAffine(src, m, (W, H))` with output the size of `src`.
pub fn warp_affine(
    src: &ImageU8,
    m: &Affine,
    interp: Interpolation,
    border: BorderMode,
) -> ImageU8 {
    let mut dst = ImageU8::new(src.width(), src.height());
    warp_affine_into(src, m, interp, border, &mut dst);
    dst
}

/// `cv2.warpAffine` into a preallocated destination (its size is the output size).
///
/// Source coordinates follow OpenCV's walk: with `A = invert_affine(m)`,
/// `X = (round(A1*y + A2) * 1024) + delta + round(A0*x*1024)) >> s` where `delta = 16, s = 5`
/// for bilinear (1/32-px units) and `delta = 512, s = 10` for nearest.
pub fn warp_affine_into(
    src: &ImageU8,
    m: &Affine,
    interp: Interpolation,
    border: BorderMode,
    dst: &mut ImageU8,
) {
    let inv = invert_affine(m);
    let dw = dst.width();
    let adelta: Vec<i32> = (0..dw)
        .map(|x| cv_round(inv[0] * x as f64 * AB_SCALE))
        .collect();
    let bdelta: Vec<i32> = (0..dw)
        .map(|x| cv_round(inv[3] * x as f64 * AB_SCALE))
        .collect();
    let geom = Geom::for_image(src, border);
    let support = match (interp, geom) {
        (Interpolation::Nearest, Some(_)) => Support::of(src),
        _ => Support::ALL,
    };
    let mut lanes = Lanes::new();
    let mut xs = vec![0i32; TILE_W];
    let mut ys = vec![0i32; TILE_W];
    // Tiles of 32 rows x 256 columns (like OpenCV's blocks) keep the source footprint in cache.
    for y0 in (0..dst.height()).step_by(TILE_H) {
        let y1 = (y0 + TILE_H).min(dst.height());
        for x0 in (0..dw).step_by(TILE_W) {
            let x1 = (x0 + TILE_W).min(dw);
            let n = x1 - x0;
            for y in y0..y1 {
                let yf = y as f64;
                let (ad, bd) = (&adelta[x0..x1], &bdelta[x0..x1]);
                let out = &mut dst.row_mut(y)[x0..x1];
                let delta = match interp {
                    Interpolation::Linear => 16,
                    Interpolation::Nearest => 512,
                };
                let bx = cv_round((inv[1] * yf + inv[2]) * AB_SCALE).wrapping_add(delta);
                let by = cv_round((inv[4] * yf + inv[5]) * AB_SCALE).wrapping_add(delta);
                match (interp, geom) {
                    (Interpolation::Linear, Some(g)) => {
                        let walk = Walk::<5> { bx, by, ad, bd };
                        linear_r101(src, &g, &walk, out, &mut lanes);
                    }
                    (Interpolation::Nearest, Some(g)) => {
                        let walk = Walk::<10> { bx, by, ad, bd };
                        nearest_r101(src, &g, &support, &walk, out, &mut lanes);
                    }
                    (Interpolation::Linear, None) => {
                        let walk = Walk::<5> { bx, by, ad, bd };
                        for i in 0..n {
                            (xs[i], ys[i]) = walk.at(i);
                        }
                        linear_row_generic(src, &xs[..n], &ys[..n], border, out);
                    }
                    (Interpolation::Nearest, None) => {
                        let walk = Walk::<10> { bx, by, ad, bd };
                        for i in 0..n {
                            (xs[i], ys[i]) = walk.at(i);
                        }
                        nearest_row_generic(src, &xs[..n], &ys[..n], border, out);
                    }
                }
            }
        }
    }
}

/// One row of OpenCV's warpAffine walk: `X = (bx + ad[i]) >> S` (`S = 5`: bilinear, 1/32 px;
/// `S = 10`: nearest, saturated to i16 as OpenCV stores it).
struct Walk<'a, const S: i32> {
    bx: i32,
    by: i32,
    ad: &'a [i32],
    bd: &'a [i32],
}

impl<const S: i32> Coords for Walk<'_, S> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.ad.len().min(self.bd.len())
    }

    #[inline(always)]
    fn at(&self, i: usize) -> (i32, i32) {
        let x = self.bx.wrapping_add(self.ad[i]) >> S;
        let y = self.by.wrapping_add(self.bd[i]) >> S;
        if S == 10 {
            (sat16(x), sat16(y))
        } else {
            (x, y)
        }
    }

    /// `ad` and `bd` are rounded multiples of the column index, hence monotone: the extremes
    /// are at the ends (when no i32 sum wraps).
    fn bounds(&self, start: usize, n: usize) -> Option<[(i32, i32); 2]> {
        let end = start + n.checked_sub(1)?;
        let f = |b: i32, d: &[i32]| -> Option<(i32, i32)> {
            let a = i32::try_from(i64::from(b) + i64::from(d[start])).ok()? >> S;
            let z = i32::try_from(i64::from(b) + i64::from(d[end])).ok()? >> S;
            Some((a.min(z), a.max(z)))
        };
        Some([f(self.bx, self.ad)?, f(self.by, self.bd)?])
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn at8(&self, i: usize) -> (simd::V, simd::V) {
        use std::arch::x86_64::*;
        let x = _mm256_add_epi32(_mm256_set1_epi32(self.bx), simd::load_i32(self.ad, i));
        let y = _mm256_add_epi32(_mm256_set1_epi32(self.by), simd::load_i32(self.bd, i));
        (_mm256_srai_epi32::<S>(x), _mm256_srai_epi32::<S>(y))
    }
}

const TILE_W: usize = 256;
const TILE_H: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize) -> ImageU8 {
        ImageU8::from_fn(w, h, |x, y| ((x * 7 + y * 13) % 256) as u8)
    }

    #[test]
    fn identity_affine_is_a_copy() {
        let src = ramp(9, 5);
        let id = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        for interp in [Interpolation::Linear, Interpolation::Nearest] {
            assert_eq!(warp_affine(&src, &id, interp, BorderMode::Reflect101), src);
        }
    }

    #[test]
    fn integer_translation_shifts_with_reflect101() {
        let src = ImageU8::from_vec(4, 1, vec![10, 20, 30, 40]).unwrap();
        // forward +1 px in x: out(u) = in(u - 1); out(0) = in(-1) = in(1)
        let m = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let out = warp_affine(&src, &m, Interpolation::Linear, BorderMode::Reflect101);
        assert_eq!(out.data(), &[20, 10, 20, 30]);
    }

    #[test]
    fn invert_then_invert_is_identity_for_rotation() {
        let m = rotation_matrix_2d(64.0, 48.0, 30.0, 1.1);
        let back = invert_affine(&invert_affine(&m));
        for (a, b) in m.iter().zip(back.iter()) {
            assert!((a - b).abs() < 1e-12, "{m:?} vs {back:?}");
        }
    }

    #[test]
    fn affine_from_points_recovers_a_known_map() {
        let src = [[10.0f32, 10.0], [10.0, 50.0], [60.0, 20.0]];
        let f = |p: [f32; 2]| [2.0 * p[0] - 0.5 * p[1] + 3.0, 0.25 * p[0] + p[1] - 7.0];
        let dst = [f(src[0]), f(src[1]), f(src[2])];
        let m = affine_from_points(src, dst).unwrap();
        let want = [2.0, -0.5, 3.0, 0.25, 1.0, -7.0];
        for (a, b) in m.iter().zip(want.iter()) {
            assert!((a - b).abs() < 1e-9, "{m:?}");
        }
        assert!(affine_from_points([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], dst).is_none());
    }
}
