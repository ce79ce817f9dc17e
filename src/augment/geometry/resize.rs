//! `cv::resize` for 8-bit single-channel images: INTER_LINEAR (OpenCV 4.x fixed point, including
//! its SSE vertical pass), the exact-2x INTER_AREA fast path it switches to, and INTER_NEAREST.
//!
//! Reference: OpenCV 4.x modules/imgproc/src/resize.cpp (`resize`, `resizeGeneric_`,
//! `HResizeLinear`, `VResizeLinear`, `VResizeLinearVec_32s8u`, `resizeAreaFast_`, `resizeNN`).
//! The vertical pass of INTER_LINEAR for uint8 is not the textbook `(a*b0 + b*b1 + 2^21) >> 22`:
//! both the SIMD kernel (`VResizeLinearVec_32s8u`) and the scalar tail of the uint8
//! specialisation of `VResizeLinear` compute `(((a >> 4) * b0 >> 16) + ((b >> 4) * b1 >> 16) + 2) >> 2`
//! (verified on every column against OpenCV 4.8.1).

use super::sampler::Interpolation;
use crate::augment::ImageU8;

const COEF_BITS: i32 = 11;
const COEF_SCALE: f32 = 2048.0;

/// `cv2.resize(src, (width, height), interpolation)`.
pub fn resize(src: &ImageU8, width: usize, height: usize, interp: Interpolation) -> ImageU8 {
    let mut dst = ImageU8::new(width, height);
    resize_into(src, interp, &mut dst);
    dst
}

/// [`resize`] into a preallocated destination (its size is the target size).
///
/// # Panics
/// If the source or destination is empty.
pub fn resize_into(src: &ImageU8, interp: Interpolation, dst: &mut ImageU8) {
    let (sw, sh, dw, dh) = (src.width(), src.height(), dst.width(), dst.height());
    assert!(
        sw > 0 && sh > 0 && dw > 0 && dh > 0,
        "resize of an empty image"
    );
    if (sw, sh) == (dw, dh) {
        dst.data_mut().copy_from_slice(src.data());
        return;
    }
    let inv_scale_x = dw as f64 / sw as f64;
    let inv_scale_y = dh as f64 / sh as f64;
    match interp {
        Interpolation::Nearest => resize_nearest(src, dst, inv_scale_x, inv_scale_y),
        Interpolation::Linear => {
            let scale_x = 1.0 / inv_scale_x;
            let scale_y = 1.0 / inv_scale_y;
            let fast_2x = |s: f64| (s - s.round()).abs() < f64::EPSILON && s.round() == 2.0;
            if fast_2x(scale_x) && fast_2x(scale_y) {
                resize_area_2x(src, dst);
            } else {
                resize_linear(src, dst, scale_x, scale_y);
            }
        }
    }
}

/// `resizeNN`: source index `min(floor(x / inv_scale), len - 1)`, no half-pixel offset.
fn resize_nearest(src: &ImageU8, dst: &mut ImageU8, inv_scale_x: f64, inv_scale_y: f64) {
    let (ifx, ify) = (1.0 / inv_scale_x, 1.0 / inv_scale_y);
    let (sw, sh) = (src.width(), src.height());
    let xofs: Vec<usize> = (0..dst.width())
        .map(|x| ((x as f64 * ifx).floor() as usize).min(sw - 1))
        .collect();
    for y in 0..dst.height() {
        let sy = ((y as f64 * ify).floor() as usize).min(sh - 1);
        let srow = src.row(sy);
        for (d, &sx) in dst.row_mut(y).iter_mut().zip(&xofs) {
            *d = srow[sx];
        }
    }
}

/// INTER_AREA fast path for an exact 2x2 downscale: `(a + b + c + d + 2) >> 2`.
fn resize_area_2x(src: &ImageU8, dst: &mut ImageU8) {
    let dw = dst.width();
    for y in 0..dst.height() {
        let (r0, r1) = (&src.row(2 * y)[..2 * dw], &src.row(2 * y + 1)[..2 * dw]);
        area_row(r0, r1, dst.row_mut(y));
    }
}

/// `out[x] = (r0[2x] + r0[2x+1] + r1[2x] + r1[2x+1] + 2) >> 2` (vectorised where AVX2 is).
fn area_row(r0: &[u8], r1: &[u8], out: &mut [u8]) {
    #[inline(always)]
    fn body(r0: &[u8], r1: &[u8], out: &mut [u8]) {
        for ((d, a), b) in out
            .iter_mut()
            .zip(r0.chunks_exact(2))
            .zip(r1.chunks_exact(2))
        {
            let s = u16::from(a[0]) + u16::from(a[1]) + u16::from(b[0]) + u16::from(b[1]);
            *d = ((s + 2) >> 2) as u8;
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn body_avx2(r0: &[u8], r1: &[u8], out: &mut [u8]) {
            body(r0, r1, out);
        }
        if crate::augment::cpu::avx2() {
            // SAFETY: AVX2 is available.
            unsafe { body_avx2(r0, r1, out) };
            return;
        }
    }
    body(r0, r1, out);
}

/// Per-destination-index source offset and 11-bit weights, as `resize` computes them for INTER_LINEAR.
/// `clamp` applies the column rules (x < 0 -> 0 with weight 1; x >= len - 1 -> len - 1 with weight 1);
/// rows are not clamped here (the row pointers are clipped later), exactly as OpenCV does.
fn linear_coeffs(dst_len: usize, src_len: usize, scale: f64, clamp: bool) -> Vec<(i32, i32, i32)> {
    (0..dst_len)
        .map(|d| {
            let mut f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = f.floor() as i32;
            f -= s as f32;
            if clamp {
                if s < 0 {
                    f = 0.0;
                    s = 0;
                }
                if s >= src_len as i32 - 1 {
                    f = 0.0;
                    s = src_len as i32 - 1;
                }
            }
            let c0 = ((1.0f32 - f) * COEF_SCALE).round_ties_even() as i32;
            let c1 = (f * COEF_SCALE).round_ties_even() as i32;
            (s, c0, c1)
        })
        .collect()
}

fn resize_linear(src: &ImageU8, dst: &mut ImageU8, scale_x: f64, scale_y: f64) {
    let (sw, sh, dw) = (src.width(), src.height(), dst.width());
    let xc = linear_coeffs(dw, sw, scale_x, true);
    let yc = linear_coeffs(dst.height(), sh, scale_y, false);
    let hresize = |sy: usize, out: &mut [i32]| {
        let row = src.row(sy);
        for (o, &(sx, a0, a1)) in out.iter_mut().zip(&xc) {
            let sx = sx as usize;
            *o = if sx + 1 >= sw {
                i32::from(row[sw - 1]) * (1 << COEF_BITS)
            } else {
                i32::from(row[sx]) * a0 + i32::from(row[sx + 1]) * a1
            };
        }
    };
    let clip = |v: i32| v.clamp(0, sh as i32 - 1) as usize;
    let mut rows = [vec![0i32; dw], vec![0i32; dw]];
    let mut cached: [Option<usize>; 2] = [None, None];
    for (y, &(sy, b0, b1)) in yc.iter().enumerate() {
        for k in 0..2 {
            let r = clip(sy + k as i32);
            if cached[k] != Some(r) {
                if cached[1 - k] == Some(r) {
                    let (a, b) = rows.split_at_mut(1);
                    if k == 0 {
                        a[0].copy_from_slice(&b[0]);
                    } else {
                        b[0].copy_from_slice(&a[0]);
                    }
                } else {
                    hresize(r, &mut rows[k]);
                }
                cached[k] = Some(r);
            }
        }
        let out = dst.row_mut(y);
        for ((o, &a), &b) in out.iter_mut().zip(&rows[0]).zip(&rows[1]) {
            let v = (((a >> 4) * b0) >> 16) + (((b >> 4) * b1) >> 16);
            *o = ((v + 2) >> 2).clamp(0, 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_a_copy() {
        let src = ImageU8::from_fn(7, 3, |x, y| (x * 30 + y) as u8);
        assert_eq!(resize(&src, 7, 3, Interpolation::Linear), src);
    }

    #[test]
    fn half_size_linear_is_rounded_block_mean_and_nearest_is_top_left() {
        let src = ImageU8::from_vec(4, 2, vec![0, 1, 10, 20, 2, 2, 30, 41]).unwrap();
        assert_eq!(resize(&src, 2, 1, Interpolation::Linear).data(), &[1, 25]); // (5+2)>>2, (101+2)>>2
        assert_eq!(resize(&src, 2, 1, Interpolation::Nearest).data(), &[0, 10]);
    }

    #[test]
    fn scalar_resize_equals_the_dispatched_resize() {
        // the exact-2x INTER_AREA rows are the dispatched kernel; every mode for good measure
        let src = ImageU8::from_fn(262, 70, |x, y| ((x * 37 + y * 101 + x * y) % 256) as u8);
        for (w, h) in [(131, 35), (1, 1), (100, 33), (524, 140), (262, 35)] {
            for interp in [Interpolation::Linear, Interpolation::Nearest] {
                let simd = resize(&src, w, h, interp);
                let scalar = crate::augment::cpu::with_scalar(|| resize(&src, w, h, interp));
                assert_eq!(simd, scalar, "{w}x{h} {interp:?}");
            }
        }
        // odd rows lengths straight through the kernel, both paths
        for n in [0, 1, 15, 16, 17, 31, 32, 33, 100] {
            let r0: Vec<u8> = (0..2 * n).map(|i| (i * 53 + 7) as u8).collect();
            let r1: Vec<u8> = (0..2 * n).map(|i| (i * 29 + 200) as u8).collect();
            let (mut a, mut b) = (vec![0u8; n], vec![0u8; n]);
            area_row(&r0, &r1, &mut a);
            crate::augment::cpu::with_scalar(|| area_row(&r0, &r1, &mut b));
            assert_eq!(a, b, "{n}");
            for (x, &d) in b.iter().enumerate() {
                let s = [r0[2 * x], r0[2 * x + 1], r1[2 * x], r1[2 * x + 1]]
                    .iter()
                    .map(|&v| u16::from(v))
                    .sum::<u16>();
                assert_eq!(u16::from(d), (s + 2) >> 2);
            }
        }
    }

    #[test]
    fn upscale_constant_image_stays_constant() {
        let src = ImageU8::from_fn(5, 4, |_, _| 200);
        let out = resize(&src, 37, 23, Interpolation::Linear);
        assert!(out.data().iter().all(|&v| v == 200), "{:?}", out.data());
    }
}
