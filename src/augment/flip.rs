//! `HorizontalFlip`: mirror the width axis of image and mask (albumentations `F.hflip`).

use super::transform::Prob;
use super::ImageU8;

/// albumentations `HorizontalFlip(p)`: `out(x, y) = in(W - 1 - x, y)`, image and mask alike.
#[derive(Clone, Debug, PartialEq)]
pub struct HorizontalFlip {
    /// When it runs.
    pub prob: Prob,
}

impl HorizontalFlip {
    /// Flips `image` (and `mask`) in place.
    pub fn apply(&self, image: &mut ImageU8, mask: Option<&mut ImageU8>) {
        hflip(image);
        // a blank mask (every negative sample) flips to itself
        if let Some(m) = mask.filter(|m| !super::scratch::all_zero(m.data())) {
            hflip(m);
        }
    }
}

/// Mirrors every row in place.
pub fn hflip(img: &mut ImageU8) {
    let w = img.width();
    if w == 0 {
        return;
    }
    let avx2 = super::cpu::avx2();
    for row in img.data_mut().chunks_exact_mut(w) {
        reverse_row(row, avx2);
    }
}

/// `row.reverse()`, 32 bytes from each end per step where AVX2 is available.
fn reverse_row(row: &mut [u8], avx2: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2 {
            // SAFETY: AVX2 is available (`cpu::avx2`).
            unsafe { reverse_avx2(row) };
            return;
        }
    }
    let _ = avx2;
    row.reverse();
}

/// Swaps byte-reversed 32-byte blocks from both ends inwards, then reverses the middle.
///
/// # Safety
/// AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn reverse_avx2(row: &mut [u8]) {
    use std::arch::x86_64::*;
    let rev = _mm256_setr_epi8(
        15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
        5, 4, 3, 2, 1, 0,
    );
    // reverse the bytes of each 128-bit half, then swap the halves
    let reversed =
        |v: __m256i| _mm256_permute4x64_epi64::<0b01_00_11_10>(_mm256_shuffle_epi8(v, rev));
    let p = row.as_mut_ptr();
    let (mut i, mut j) = (0, row.len());
    // the blocks [i, i + 32) and [j - 32, j) are disjoint while j - i >= 64
    while j - i >= 64 {
        let a = _mm256_loadu_si256(p.add(i) as *const __m256i);
        let b = _mm256_loadu_si256(p.add(j - 32) as *const __m256i);
        _mm256_storeu_si256(p.add(i) as *mut __m256i, reversed(b));
        _mm256_storeu_si256(p.add(j - 32) as *mut __m256i, reversed(a));
        i += 32;
        j -= 32;
    }
    row[i..j].reverse();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flip_literal_and_twice_is_identity() {
        let orig = ImageU8::from_vec(3, 2, vec![1, 2, 3, 4, 5, 6]).unwrap();
        let mut img = orig.clone();
        let mut mask = ImageU8::from_vec(3, 2, vec![0, 0, 255, 255, 0, 0]).unwrap();
        let t = HorizontalFlip {
            prob: Prob::always(),
        };
        t.apply(&mut img, Some(&mut mask));
        assert_eq!(img.data(), &[3, 2, 1, 6, 5, 4]);
        assert_eq!(mask.data(), &[255, 0, 0, 0, 0, 255]);
        t.apply(&mut img, None);
        assert_eq!(img, orig);
    }

    #[test]
    fn row_reversal_equals_slice_reverse_at_every_width() {
        let avx2 = crate::augment::cpu::avx2();
        for w in 0..300 {
            let v: Vec<u8> = (0..w).map(|i| (i * 7 + 3) as u8).collect();
            let (mut got, mut want) = (v.clone(), v);
            reverse_row(&mut got, avx2);
            want.reverse();
            assert_eq!(got, want, "width {w}");
        }
    }

    #[test]
    fn scalar_flip_equals_the_dispatched_flip() {
        for w in [0, 1, 31, 32, 63, 64, 65, 127, 128, 129, 1000] {
            let img = ImageU8::from_fn(w, 3, |x, y| (x * 7 + y * 31 + 3) as u8);
            let (mut simd, mut scalar) = (img.clone(), img.clone());
            hflip(&mut simd);
            crate::augment::cpu::with_scalar(|| hflip(&mut scalar));
            assert_eq!(simd, scalar, "width {w}");
            // and both kernels directly, whatever the dispatch picked
            let row: Vec<u8> = img.data()[..w].to_vec();
            let (mut a, mut b) = (row.clone(), row);
            reverse_row(&mut a, false);
            reverse_row(&mut b, crate::augment::cpu::avx2());
            assert_eq!(a, b, "width {w}");
        }
    }
}
