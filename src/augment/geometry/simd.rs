//! AVX2 quantisation of float maps to OpenCV's fixed-point coordinates (8 values per step).
//!
//! `_mm256_cvtps_epi32` rounds half to even and returns `i32::MIN` out of range, exactly like the
//! scalar `cvtss2si` of `cvRound`. (Gather-based sampling was measured slower than the scalar
//! kernel on the target machine, so sampling stays scalar.)

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// `out[i] = cvRound(v[i] * scale)` (optionally saturated to i16) for a whole row.
///
/// # Safety
/// The CPU must support AVX2; `v.len() == out.len()`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn quantize_row(v: &[f32], out: &mut [i32], scale: f32, saturate16: bool) {
    let n = v.len();
    let s = _mm256_set1_ps(scale);
    let lo = _mm256_set1_epi32(i32::from(i16::MIN));
    let hi = _mm256_set1_epi32(i32::from(i16::MAX));
    let mut i = 0;
    while i + 8 <= n {
        let q = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(v.as_ptr().add(i)), s));
        let q = if saturate16 {
            _mm256_min_epi32(_mm256_max_epi32(q, lo), hi)
        } else {
            q
        };
        _mm256_storeu_si256(out.as_mut_ptr().add(i) as *mut __m256i, q);
        i += 8;
    }
    for k in i..n {
        let q = super::sampler::cv_round_f32(v[k] * scale);
        out[k] = if saturate16 {
            super::sampler::sat16(q)
        } else {
            q
        };
    }
}
