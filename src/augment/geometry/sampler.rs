//! The per-row samplers of OpenCV's `remapBilinear` / `remapNearest` for 8-bit single-channel data.
//!
//! Coordinates arrive already quantised the way OpenCV quantises them: bilinear takes source
//! positions in 1/32 px (`X = round(sx * 32)` for remap, the 10-bit walk for warpAffine);
//! nearest takes integer source indices. Inside the image (`0 <= x0 < W-1`, `0 <= y0 < H-1`)
//! the four neighbours are read directly; otherwise each neighbour goes through
//! [`border_index`] independently, as OpenCV does.

use super::border::{border_index, BorderMode};
#[cfg(test)]
use super::kernel::{linear_r101, nearest_r101, Geom, Lanes, Slices, Support};
use crate::augment::ImageU8;

/// Interpolation (OpenCV `INTER_*`, albumentations `interpolation`). Masks always use `Nearest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// `INTER_NEAREST` (0).
    Nearest,
    /// `INTER_LINEAR` (1), OpenCV 4.x fixed point.
    Linear,
}

impl Interpolation {
    /// From OpenCV's integer code; `None` for codes other than 0 and 1.
    pub fn from_cv(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::Nearest),
            1 => Some(Self::Linear),
            _ => None,
        }
    }
}

/// `saturate_cast<short>` of an int (OpenCV stores integer source coordinates as i16).
#[inline(always)]
pub(crate) fn sat16(v: i32) -> i32 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// Bilinear row: `xs[i]`, `ys[i]` are source coordinates in 1/32 px for destination pixel `i`.
/// REFLECT_101 goes through the folded fast kernel ([`super::kernel`]), other borders through
/// [`linear_row_generic`]; both give the same bytes. (Row loops hold their own `Lanes`.)
#[cfg(test)]
pub(crate) fn linear_row(
    src: &ImageU8,
    xs: &[i32],
    ys: &[i32],
    border: BorderMode,
    dst: &mut [u8],
) {
    match Geom::for_image(src, border) {
        Some(g) => linear_r101(src, &g, &Slices { xs, ys }, dst, &mut Lanes::new()),
        None => linear_row_generic(src, xs, ys, border, dst),
    }
}

/// The per-pixel reference bilinear row (any border): OpenCV's in-range test, then each
/// neighbour through the border rule.
///
/// The weights are OpenCV's `(32 - ty)(32 - tx)`, `(32 - ty) tx`, `ty (32 - tx)`, `ty tx`
/// (sum 1024) and the result `(S + 512) >> 10`; evaluated as
/// `top = 32 p00 + (p01 - p00) tx`, `bot = 32 p10 + (p11 - p10) tx`,
/// `(32 top + (bot - top) ty + 512) >> 10`, the same integer.
pub(crate) fn linear_row_generic(
    src: &ImageU8,
    xs: &[i32],
    ys: &[i32],
    border: BorderMode,
    dst: &mut [u8],
) {
    assert!(
        xs.len() == dst.len() && ys.len() == dst.len(),
        "row lengths"
    );
    let (w, h, data) = (src.width(), src.height(), src.data());
    for ((d, &xq), &yq) in dst.iter_mut().zip(xs).zip(ys) {
        *d = linear_one(data, w, h, xq, yq, border);
    }
}

#[inline(always)]
fn linear_one(data: &[u8], w: usize, h: usize, xq: i32, yq: i32, border: BorderMode) -> u8 {
    let x0 = xq >> 5;
    let y0 = yq >> 5;
    let fx = xq & 31;
    let fy = yq & 31;
    // in range implies |x0|, |y0| < 32768, so OpenCV's saturation to i16 cannot apply here
    if (x0 as u32) < w.saturating_sub(1) as u32 && (y0 as u32) < h.saturating_sub(1) as u32 {
        let i = y0 as usize * w + x0 as usize;
        assert!(i + w + 1 < data.len());
        // SAFETY: asserted just above: bytes i, i + 1, i + w, i + w + 1 are inside `data`.
        let (t, b) = unsafe {
            let p = data.as_ptr();
            (
                i32::from(std::ptr::read_unaligned(p.add(i) as *const u16).to_le()),
                i32::from(std::ptr::read_unaligned(p.add(i + w) as *const u16).to_le()),
            )
        };
        let (p00, p01, p10, p11) = (t & 0xff, t >> 8, b & 0xff, b >> 8);
        let top = (p00 << 5) + (p01 - p00) * fx;
        let bot = (p10 << 5) + (p11 - p10) * fx;
        (((top << 5) + (bot - top) * fy + 512) >> 10) as u8
    } else {
        linear_border(
            data,
            w,
            h,
            sat16(x0),
            sat16(y0),
            fx as u32,
            fy as u32,
            border,
        )
    }
}

#[cold]
#[allow(clippy::too_many_arguments)]
pub(crate) fn linear_border(
    data: &[u8],
    w: usize,
    h: usize,
    x0: i32,
    y0: i32,
    fx: u32,
    fy: u32,
    border: BorderMode,
) -> u8 {
    if let BorderMode::Constant(v) = border {
        if x0 >= w as i32 || x0 + 1 < 0 || y0 >= h as i32 || y0 + 1 < 0 {
            return v;
        }
    }
    let cval = match border {
        BorderMode::Constant(v) => u32::from(v),
        _ => 0,
    };
    let (xa, xb, ya, yb) = if border == BorderMode::Reflect101 {
        (
            Some(reflect101(x0, w)),
            Some(reflect101(x0 + 1, w)),
            Some(reflect101(y0, h)),
            Some(reflect101(y0 + 1, h)),
        )
    } else {
        (
            border_index(x0, w, border),
            border_index(x0 + 1, w, border),
            border_index(y0, h, border),
            border_index(y0 + 1, h, border),
        )
    };
    let px = |x: Option<usize>, y: Option<usize>| match (x, y) {
        (Some(x), Some(y)) => u32::from(data[y * w + x]),
        _ => cval,
    };
    let top = px(xa, ya) * (32 - fx) + px(xb, ya) * fx;
    let bot = px(xa, yb) * (32 - fx) + px(xb, yb) * fx;
    ((top * (32 - fy) + bot * fy + 512) >> 10) as u8
}

/// [`border_index`] for `Reflect101`, with the single-reflection cases inline.
#[inline(always)]
pub(crate) fn reflect101(p: i32, len: usize) -> usize {
    let n = len as i32;
    if (p as u32) < (n as u32) {
        p as usize
    } else if p < 0 && p > -n {
        (-p) as usize
    } else if p >= n && p < 2 * n - 1 {
        (2 * n - 2 - p) as usize
    } else {
        border_index(p, len, BorderMode::Reflect101).unwrap_or(0)
    }
}

/// Nearest row: `xs[i]`, `ys[i]` are integer source indices (already saturated to i16).
#[cfg(test)]
pub(crate) fn nearest_row(
    src: &ImageU8,
    xs: &[i32],
    ys: &[i32],
    border: BorderMode,
    dst: &mut [u8],
) {
    match Geom::for_image(src, border) {
        Some(g) => nearest_r101(
            src,
            &g,
            &Support::ALL,
            &Slices { xs, ys },
            dst,
            &mut Lanes::new(),
        ),
        None => nearest_row_generic(src, xs, ys, border, dst),
    }
}

/// The per-pixel reference nearest row (any border).
pub(crate) fn nearest_row_generic(
    src: &ImageU8,
    xs: &[i32],
    ys: &[i32],
    border: BorderMode,
    dst: &mut [u8],
) {
    assert!(
        xs.len() == dst.len() && ys.len() == dst.len(),
        "row lengths"
    );
    let (w, h, data) = (src.width(), src.height(), src.data());
    let one = |k: usize| nearest_one(data, w, h, xs[k], ys[k], border);
    for (k, d) in dst.iter_mut().enumerate() {
        *d = one(k);
    }
}

#[inline(always)]
fn nearest_one(data: &[u8], w: usize, h: usize, x: i32, y: i32, border: BorderMode) -> u8 {
    if (x as u32) < w as u32 && (y as u32) < h as u32 {
        let i = y as usize * w + x as usize;
        // SAFETY: 0 <= x < w and 0 <= y < h, so i < w * h = data.len().
        unsafe { *data.get_unchecked(i) }
    } else if border == BorderMode::Reflect101 {
        data[reflect101(y, h) * w + reflect101(x, w)]
    } else {
        match (border_index(x, w, border), border_index(y, h, border)) {
            (Some(bx), Some(by)) => data[by * w + bx],
            _ => match border {
                BorderMode::Constant(v) => v,
                _ => unreachable!("only BORDER_CONSTANT leaves the image"),
            },
        }
    }
}

/// `cvRound(float)`: `cvtss2si` (round half to even; `i32::MIN` when out of range, as in OpenCV).
#[inline(always)]
pub(crate) fn cv_round_f32(v: f32) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_cvtss_si32, _mm_set_ss};
        // SAFETY: SSE is part of the x86_64 baseline.
        unsafe { _mm_cvtss_si32(_mm_set_ss(v)) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // every f32 is exactly an f64, so the double rule rounds it the same way
        cv_round_f64(f64::from(v))
    }
}

/// `cvRound(double)`: `cvtsd2si` (round half to even; `i32::MIN` when out of range).
#[inline(always)]
pub(crate) fn cv_round_f64(v: f64) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_cvtsd_si32, _mm_set_sd};
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_cvtsd_si32(_mm_set_sd(v)) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let r = v.round_ties_even();
        if r >= -2_147_483_648.0 && r < 2_147_483_648.0 {
            r as i32
        } else {
            i32::MIN
        }
    }
}

/// A float map value in 1/32-px units: `cvRound(v * INTER_TAB_SIZE)`.
#[inline(always)]
pub(crate) fn quantize32(v: f32) -> i32 {
    cv_round_f32(v * 32.0)
}

/// `saturate_cast<short>(float)`: round half to even, then clamp to i16.
#[inline(always)]
pub(crate) fn round_to_i16(v: f32) -> i32 {
    sat16(cv_round_f32(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img() -> ImageU8 {
        ImageU8::from_vec(3, 2, vec![0, 100, 200, 50, 150, 250]).unwrap()
    }

    #[test]
    fn linear_integer_positions_copy_pixels() {
        let src = img();
        let xs = [0, 32, 64, 0];
        let ys = [0, 0, 32, 32];
        let mut out = [0u8; 4];
        linear_row(&src, &xs, &ys, BorderMode::Reflect101, &mut out);
        assert_eq!(out, [0, 100, 250, 50]);
    }

    #[test]
    fn linear_half_pixel_rounds_like_opencv() {
        let src = img();
        // halfway between 0 and 100 horizontally: (0*16 + 100*16) * 32 / 1024 = 50 exactly;
        // a quarter step: (0*24 + 100*8)*32 = 25600 -> (25600 + 512) >> 10 = 25
        let mut out = [0u8; 2];
        linear_row(&src, &[16, 8], &[0, 0], BorderMode::Reflect101, &mut out);
        assert_eq!(out, [50, 25]);
    }

    #[test]
    fn linear_border_uses_reflect101_per_neighbour() {
        let src = img();
        // x0 = -1 (reflects to 1), x1 = 0; fx = 16: (100 + 0) / 2 = 50 on row 0
        let mut out = [0u8; 1];
        linear_row(&src, &[-16], &[0], BorderMode::Reflect101, &mut out);
        assert_eq!(out, [50]);
        linear_row(&src, &[-16], &[0], BorderMode::Constant(10), &mut out);
        assert_eq!(out, [5]); // (10*16 + 0*16)*32 >> 10 = 5
    }

    #[test]
    fn nearest_far_outside_reflects() {
        let src = img();
        let mut out = [0u8; 3];
        nearest_row(
            &src,
            &[-1, 5, 2],
            &[0, 1, -3],
            BorderMode::Reflect101,
            &mut out,
        );
        // x=-1 -> 1; x=5 (len 3, period 4) -> 1; y=-3 -> 1
        assert_eq!(out, [100, 150, 250]);
    }

    #[test]
    fn fast_path_equals_plain_weighted_sum() {
        // The in-image path uses the factored form; the border path the four OpenCV weights.
        // Inside the image both must give the same byte for every fraction.
        let src = ImageU8::from_fn(7, 5, |x, y| ((x * 53 + y * 29 + x * y * 7) % 256) as u8);
        for y0 in 0..4 {
            for x0 in 0..6 {
                for fy in 0..32u32 {
                    for fx in 0..32u32 {
                        let (xq, yq) = ((x0 << 5) + fx as i32, (y0 << 5) + fy as i32);
                        let fast = linear_one(src.data(), 7, 5, xq, yq, BorderMode::Reflect101);
                        let plain =
                            linear_border(src.data(), 7, 5, x0, y0, fx, fy, BorderMode::Reflect101);
                        assert_eq!(fast, plain, "({xq}, {yq})");
                    }
                }
            }
        }
    }

    #[test]
    fn quantize_is_half_even() {
        assert_eq!(quantize32(0.5 / 32.0), 0);
        assert_eq!(quantize32(1.5 / 32.0), 2);
        assert_eq!(quantize32(-0.5 / 32.0), 0);
        assert_eq!(round_to_i16(2.5), 2);
        assert_eq!(round_to_i16(1.0e9), 32767);
        assert_eq!(cv_round_f64(2.5), 2);
        assert_eq!(cv_round_f64(-3.5), -4);
        assert_eq!(cv_round_f32(3.0e9), i32::MIN);
    }
}
