//! `RandomContrast` (albumentations 0.3.1): a gain LUT `trunc(clip(i * alpha, 0, 255))` in float32.

use super::rng::uniform;
use super::transform::Prob;
use super::ImageU8;
use rand::Rng;

/// albumentations 0.3.1 `RandomContrast(limit)` = `RandomBrightnessContrast(brightness_limit=0,
/// contrast_limit=limit)`: `alpha = 1 + U(limit)`; image only. The gain is about 0, not mid-grey.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomContrast {
    /// Range of `alpha - 1` (albumentations `limit`, a scalar `l` meaning `(-l, l)`).
    pub limit: (f64, f64),
    /// When it runs.
    pub prob: Prob,
}

impl RandomContrast {
    /// Draws `alpha = 1 + U(limit)`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        1.0 + uniform(rng, self.limit.0, self.limit.1)
    }

    /// Applies the gain `alpha` to the image.
    pub fn apply(&self, alpha: f64, image: &mut ImageU8) {
        apply_lut(image, &contrast_lut(alpha));
    }
}

/// The 0.3.1 uint8 LUT: `lut = arange(256, float32); lut *= alpha` (alpha rounded to float32,
/// skipped when exactly 1), `clip(0, 255)`, cast to uint8 by truncation.
pub fn contrast_lut(alpha: f64) -> [u8; 256] {
    let a = alpha as f32;
    std::array::from_fn(|i| {
        let v = if alpha != 1.0 { i as f32 * a } else { i as f32 };
        v.clamp(0.0, 255.0) as u8
    })
}

/// `cv2.LUT`: `img[i] = lut[img[i]]`.
pub fn apply_lut(img: &mut ImageU8, lut: &[u8; 256]) {
    #[cfg(target_arch = "x86_64")]
    {
        if super::cpu::avx512_vbmi() {
            // SAFETY: AVX-512 F, BW and VBMI are available.
            unsafe { lut_avx512vbmi(img.data_mut(), lut) };
            return;
        }
        if super::cpu::avx2() {
            // SAFETY: AVX2 is available.
            unsafe { lut_avx2(img.data_mut(), lut) };
            return;
        }
    }
    lut_scalar(img.data_mut(), lut);
}

/// 64 bytes per step: `vpermi2b` looks each byte up in the low and in the high 128 entries
/// (index bits 0-6), and bit 7 of the byte picks which of the two.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn lut_avx512vbmi(data: &mut [u8], lut: &[u8; 256]) {
    use std::arch::x86_64::*;
    let t: [__m512i; 4] =
        std::array::from_fn(|q| _mm512_loadu_si512(lut.as_ptr().add(64 * q) as *const _));
    let mut chunks = data.chunks_exact_mut(64);
    for c in &mut chunks {
        let v = _mm512_loadu_si512(c.as_ptr() as *const _);
        let lo = _mm512_permutex2var_epi8(t[0], v, t[1]);
        let hi = _mm512_permutex2var_epi8(t[2], v, t[3]);
        let out = _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi);
        _mm512_storeu_si512(c.as_mut_ptr() as *mut _, out);
    }
    // AVX-512F implies AVX2
    lut_avx2(chunks.into_remainder(), lut);
}

fn lut_scalar(data: &mut [u8], lut: &[u8; 256]) {
    for v in data {
        *v = lut[usize::from(*v)];
    }
}

/// 32 bytes per step: for each group `g` of 16 table entries, `pshufb` with index
/// `sat_add(v - 16 g, 0x70)`, which keeps bit 7 clear (and the low nibble) only for the
/// bytes whose high nibble is `g`; `pshufb` writes 0 for the others, so OR-ing the 16
/// results gives `lut[v]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lut_avx2(data: &mut [u8], lut: &[u8; 256]) {
    use std::arch::x86_64::*;
    let tables: [__m256i; 16] = std::array::from_fn(|g| {
        _mm256_broadcastsi128_si256(_mm_loadu_si128(lut.as_ptr().add(16 * g) as *const __m128i))
    });
    let (c16, c70) = (_mm256_set1_epi8(16), _mm256_set1_epi8(0x70));
    let mut chunks = data.chunks_exact_mut(32);
    for c in &mut chunks {
        let v = _mm256_loadu_si256(c.as_ptr() as *const __m256i);
        let mut idx = v;
        let mut acc = _mm256_setzero_si256();
        for t in &tables {
            let sel = _mm256_adds_epu8(idx, c70);
            acc = _mm256_or_si256(acc, _mm256_shuffle_epi8(*t, sel));
            idx = _mm256_sub_epi8(idx, c16);
        }
        _mm256_storeu_si256(c.as_mut_ptr() as *mut __m256i, acc);
    }
    lut_scalar(chunks.into_remainder(), lut);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::cpu;

    #[test]
    fn simd_lut_equals_the_scalar_lookup() {
        let img = ImageU8::from_fn(517, 3, |x, y| ((x * 7 + y * 13) % 256) as u8);
        let mut s = 7u32;
        for _ in 0..20 {
            let lut: [u8; 256] = std::array::from_fn(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 24) as u8
            });
            let mut a = img.clone();
            apply_lut(&mut a, &lut);
            let mut b = img.data().to_vec();
            lut_scalar(&mut b, &lut);
            assert_eq!(a.data(), &b[..]);
            // the dispatch with SIMD off runs the scalar lookup
            let mut s = img.clone();
            cpu::with_scalar(|| apply_lut(&mut s, &lut));
            assert_eq!(s.data(), &b[..]);
            #[cfg(target_arch = "x86_64")]
            {
                // each SIMD kernel this CPU has, whichever the dispatch picked above
                if cpu::avx512_vbmi() {
                    let mut c = img.data().to_vec();
                    // SAFETY: AVX-512 F, BW and VBMI are available.
                    unsafe { lut_avx512vbmi(&mut c, &lut) };
                    assert_eq!(c, b);
                }
                if cpu::avx2() {
                    let mut c = img.data().to_vec();
                    // SAFETY: AVX2 is available.
                    unsafe { lut_avx2(&mut c, &lut) };
                    assert_eq!(c, b);
                }
            }
            assert!(img
                .data()
                .iter()
                .zip(a.data())
                .all(|(&i, &o)| lut[usize::from(i)] == o));
        }
    }

    #[test]
    fn scalar_and_simd_lut_agree_at_every_tail_length() {
        // lengths around the 32- and 64-byte steps of the AVX2 and AVX-512 kernels
        let lut = contrast_lut(1.37);
        for len in 0..200 {
            let img = ImageU8::from_fn(len, 1, |x, _| (x * 59 + 11) as u8);
            let (mut simd, mut scalar) = (img.clone(), img.clone());
            RandomContrast {
                limit: (0.0, 0.0),
                prob: Prob::always(),
            }
            .apply(1.37, &mut simd);
            cpu::with_scalar(|| apply_lut(&mut scalar, &lut));
            assert_eq!(simd, scalar, "length {len}");
        }
    }

    #[test]
    fn lut_truncates_and_clips() {
        let lut = contrast_lut(1.2);
        assert_eq!(lut[10], 12);
        assert_eq!(lut[11], 13); // 13.2 truncated
        assert_eq!(lut[250], 255);
        let lut = contrast_lut(0.8);
        assert_eq!(lut[9], 7); // 7.2
        assert_eq!(contrast_lut(1.0), std::array::from_fn(|i| i as u8));
    }
}
