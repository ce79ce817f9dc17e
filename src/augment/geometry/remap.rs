//! `cv::remap` with float32 maps (`CV_32FC1` x and y) for 8-bit images.
//!
//! Bilinear: each map value is quantised to 1/32 px with round-half-even (`cvRound(v * 32)`),
//! then sampled by the fixed-point kernel. Nearest: `saturate_cast<short>(v)` (round half even).

use super::border::BorderMode;
use super::sampler::{
    linear_border, linear_row, nearest_row, quantize32, round_to_i16, sat16, Interpolation,
};
use crate::augment::ImageU8;

/// `cv2.remap(src, map_x, map_y, interp, border)`; the output has the maps' size `width x height`.
///
/// # Panics
/// If the maps are not `width * height` long.
pub fn remap(
    src: &ImageU8,
    map_x: &[f32],
    map_y: &[f32],
    width: usize,
    height: usize,
    interp: Interpolation,
    border: BorderMode,
) -> ImageU8 {
    let mut dst = ImageU8::new(width, height);
    remap_into(src, map_x, map_y, interp, border, &mut dst);
    dst
}

/// [`remap`] into a preallocated destination whose size is the maps' size.
///
/// # Panics
/// If the maps are not `dst.width() * dst.height()` long.
pub fn remap_into(
    src: &ImageU8,
    map_x: &[f32],
    map_y: &[f32],
    interp: Interpolation,
    border: BorderMode,
    dst: &mut ImageU8,
) {
    let w = dst.width();
    assert_eq!(map_x.len(), w * dst.height(), "map_x size");
    assert_eq!(map_y.len(), w * dst.height(), "map_y size");
    let mut xs = vec![0i32; w];
    let mut ys = vec![0i32; w];
    for y in 0..dst.height() {
        let mx = &map_x[y * w..(y + 1) * w];
        let my = &map_y[y * w..(y + 1) * w];
        remap_row(
            src,
            mx,
            my,
            interp,
            border,
            &mut xs,
            &mut ys,
            dst.row_mut(y),
        );
    }
}

/// One destination row of [`remap_into`], with caller-provided coordinate scratch rows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn remap_row(
    src: &ImageU8,
    mx: &[f32],
    my: &[f32],
    interp: Interpolation,
    border: BorderMode,
    xs: &mut [i32],
    ys: &mut [i32],
    out: &mut [u8],
) {
    let (scale, saturate) = match interp {
        Interpolation::Linear => (32.0, false),
        Interpolation::Nearest => (1.0, true),
    };
    quantize(mx, xs, scale, saturate);
    quantize(my, ys, scale, saturate);
    match interp {
        Interpolation::Linear => linear_row(src, xs, ys, border, out),
        Interpolation::Nearest => nearest_row(src, xs, ys, border, out),
    }
}

/// `cvRound(v * scale)` for a row (saturated to i16 for nearest, as OpenCV stores it).
fn quantize(v: &[f32], out: &mut [i32], scale: f32, saturate16: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is available (checked above); equal lengths are asserted by zip below otherwise.
            assert_eq!(v.len(), out.len(), "quantize lengths");
            unsafe { super::simd::quantize_row(v, out, scale, saturate16) };
            return;
        }
    }
    for (o, &x) in out.iter_mut().zip(v) {
        let q = super::sampler::cv_round_f32(x * scale);
        *o = if saturate16 {
            super::sampler::sat16(q)
        } else {
            q
        };
    }
}

/// remap with a separable map `map_x(u, v) = gx[u]`, `map_y(u, v) = gy[v]` (GridDistortion):
/// identical to [`remap_into`] on the full maps, but each coordinate is quantised once.
///
/// # Panics
/// If `gx.len() != dst.width()` or `gy.len() != dst.height()`.
pub fn remap_separable_into(
    src: &ImageU8,
    gx: &[f32],
    gy: &[f32],
    interp: Interpolation,
    border: BorderMode,
    dst: &mut ImageU8,
) {
    assert_eq!(gx.len(), dst.width(), "gx length");
    assert_eq!(gy.len(), dst.height(), "gy length");
    let w = dst.width();
    let mut ys = vec![0i32; w];
    match interp {
        Interpolation::Linear => {
            let xs: Vec<i32> = gx.iter().map(|&v| quantize32(v)).collect();
            for (y, &g) in gy.iter().enumerate() {
                let yq = quantize32(g);
                if !linear_row_fixed_y(src, &xs, yq, border, dst.row_mut(y)) {
                    ys.fill(yq);
                    linear_row(src, &xs, &ys, border, dst.row_mut(y));
                }
            }
        }
        Interpolation::Nearest => {
            let xs: Vec<i32> = gx.iter().map(|&v| round_to_i16(v)).collect();
            for (y, &g) in gy.iter().enumerate() {
                ys.fill(round_to_i16(g));
                nearest_row(src, &xs, &ys, border, dst.row_mut(y));
            }
        }
    }
}

/// Bilinear row for a constant source row pair (separable maps): only the column varies, so
/// the two source rows are fetched once. Returns `false` without writing when the row pair
/// needs the border rule (the caller then uses the general kernel).
fn linear_row_fixed_y(
    src: &ImageU8,
    xs: &[i32],
    yq: i32,
    border: BorderMode,
    out: &mut [u8],
) -> bool {
    let (w, h) = (src.width(), src.height());
    let y0 = yq >> 5;
    if (y0 as u32) >= h.saturating_sub(1) as u32 {
        return false;
    }
    let fy = yq & 31;
    let (r0, r1) = (src.row(y0 as usize), src.row(y0 as usize + 1));
    let w1 = w.saturating_sub(1) as u32;
    for (o, &xq) in out.iter_mut().zip(xs) {
        let (x0, fx) = (xq >> 5, xq & 31);
        *o = if (x0 as u32) < w1 {
            let x0 = x0 as usize;
            let (p00, p01, p10, p11) = (
                i32::from(r0[x0]),
                i32::from(r0[x0 + 1]),
                i32::from(r1[x0]),
                i32::from(r1[x0 + 1]),
            );
            let top = (p00 << 5) + (p01 - p00) * fx;
            let bot = (p10 << 5) + (p11 - p10) * fx;
            (((top << 5) + (bot - top) * fy + 512) >> 10) as u8
        } else {
            linear_border(
                src.data(),
                w,
                h,
                sat16(x0),
                y0,
                fx as u32,
                fy as u32,
                border,
            )
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_map_is_a_copy() {
        let src = ImageU8::from_fn(5, 4, |x, y| (x * 40 + y) as u8);
        let mx: Vec<f32> = (0..20).map(|i| (i % 5) as f32).collect();
        let my: Vec<f32> = (0..20).map(|i| (i / 5) as f32).collect();
        for interp in [Interpolation::Linear, Interpolation::Nearest] {
            assert_eq!(
                remap(&src, &mx, &my, 5, 4, interp, BorderMode::Reflect101),
                src
            );
        }
    }

    #[test]
    fn separable_equals_full_maps() {
        let src = ImageU8::from_fn(9, 7, |x, y| (x * 29 + y * 17) as u8);
        let gx: Vec<f32> = (0..9).map(|u| u as f32 * 1.13 - 0.7).collect();
        let gy: Vec<f32> = (0..7).map(|v| v as f32 * 0.91 + 0.33).collect();
        let mx: Vec<f32> = (0..63).map(|i| gx[i % 9]).collect();
        let my: Vec<f32> = (0..63).map(|i| gy[i / 9]).collect();
        for interp in [Interpolation::Linear, Interpolation::Nearest] {
            let mut a = ImageU8::new(9, 7);
            remap_separable_into(&src, &gx, &gy, interp, BorderMode::Reflect101, &mut a);
            assert_eq!(
                a,
                remap(&src, &mx, &my, 9, 7, interp, BorderMode::Reflect101)
            );
        }
    }

    #[test]
    fn nearest_rounds_half_to_even() {
        let src = ImageU8::from_vec(4, 1, vec![0, 1, 2, 3]).unwrap();
        let out = remap(
            &src,
            &[0.5, 1.5, 2.5, -0.5],
            &[0.0; 4],
            4,
            1,
            Interpolation::Nearest,
            BorderMode::Reflect101,
        );
        assert_eq!(out.data(), &[0, 2, 2, 0]);
    }
}
