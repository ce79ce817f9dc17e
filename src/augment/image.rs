//! `ImageU8`: the single-channel 8-bit buffer every transform reads and writes (images and masks).

use super::AugmentError;

/// A single-channel 8-bit image in row-major order (`data[y * width + x]`).
///
/// Images are grey X-rays; masks use the same type with values {0, 255} (or {0, 1}): geometric
/// transforms resample masks with nearest-neighbour, so mask values are never mixed.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawImage")]
pub struct ImageU8 {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

/// The serialized form, checked into an [`ImageU8`] (so a decoded image always fits its size).
#[derive(serde::Deserialize)]
struct RawImage {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl TryFrom<RawImage> for ImageU8 {
    type Error = AugmentError;

    fn try_from(r: RawImage) -> Result<Self, AugmentError> {
        ImageU8::from_vec(r.width, r.height, r.data)
    }
}

impl std::fmt::Debug for ImageU8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ImageU8({}x{})", self.width, self.height)
    }
}

impl ImageU8 {
    /// An all-zero image.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            data: vec![0; width * height],
        }
    }

    /// Wraps a row-major buffer; fails if `data.len() != width * height`.
    pub fn from_vec(width: usize, height: usize, data: Vec<u8>) -> Result<Self, AugmentError> {
        if width.checked_mul(height) != Some(data.len()) {
            return Err(AugmentError::ImageSize {
                width,
                height,
                len: data.len(),
            });
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Builds an image from a function of (x, y).
    pub fn from_fn(width: usize, height: usize, mut f: impl FnMut(usize, usize) -> u8) -> Self {
        let mut data = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                data.push(f(x, y));
            }
        }
        Self {
            width,
            height,
            data,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixels, row-major.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The pixels, row-major, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Consumes the image and returns its buffer.
    pub fn into_vec(self) -> Vec<u8> {
        self.data
    }

    /// Row `y`.
    ///
    /// # Panics
    /// If `y >= height`.
    pub fn row(&self, y: usize) -> &[u8] {
        &self.data[y * self.width..(y + 1) * self.width]
    }

    /// Row `y`, mutable.
    ///
    /// # Panics
    /// If `y >= height`.
    pub fn row_mut(&mut self, y: usize) -> &mut [u8] {
        &mut self.data[y * self.width..(y + 1) * self.width]
    }

    /// Pixel (x, y).
    ///
    /// # Panics
    /// If out of bounds.
    pub fn get(&self, x: usize, y: usize) -> u8 {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x}, {y}) outside {self:?}"
        );
        self.data[y * self.width + x]
    }

    /// Mean of all pixels as numpy computes it for a uint8 array (exact sum / count, float64).
    pub fn mean(&self) -> f64 {
        if self.data.is_empty() {
            return f64::NAN;
        }
        sum_bytes(&self.data) as f64 / self.data.len() as f64
    }

    /// Replaces the size and returns the old buffer for reuse; the new buffer is `buf` resized.
    pub(crate) fn replace_buffer(
        &mut self,
        width: usize,
        height: usize,
        mut buf: Vec<u8>,
    ) -> Vec<u8> {
        buf.resize(width * height, 0);
        self.width = width;
        self.height = height;
        std::mem::replace(&mut self.data, buf)
    }
}

/// Exact sum of the bytes.
fn sum_bytes(data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if super::cpu::avx2() {
            // SAFETY: AVX2 is available.
            return unsafe { sum_bytes_avx2(data) };
        }
    }
    sum_bytes_scalar(data)
}

/// u32 partial sums over blocks that cannot overflow, then u64.
fn sum_bytes_scalar(data: &[u8]) -> u64 {
    data.chunks(1 << 16)
        .map(|c| u64::from(c.iter().map(|&v| u32::from(v)).sum::<u32>()))
        .sum()
}

/// `vpsadbw` against zero: four u64 lane sums per 32 bytes.
///
/// # Safety
/// AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_bytes_avx2(data: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    let zero = _mm256_setzero_si256();
    let mut acc = [zero; 2];
    let mut blocks = data.chunks_exact(64);
    for b in &mut blocks {
        for (k, a) in acc.iter_mut().enumerate() {
            let v = _mm256_loadu_si256(b.as_ptr().add(32 * k) as *const __m256i);
            *a = _mm256_add_epi64(*a, _mm256_sad_epu8(v, zero));
        }
    }
    let mut lanes = [0u64; 4];
    _mm256_storeu_si256(
        lanes.as_mut_ptr() as *mut __m256i,
        _mm256_add_epi64(acc[0], acc[1]),
    );
    lanes.iter().sum::<u64>() + sum_bytes_scalar(blocks.remainder())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_rejects_wrong_length() {
        assert!(ImageU8::from_vec(3, 2, vec![0; 5]).is_err());
        let img = ImageU8::from_vec(3, 2, vec![1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(img.get(2, 1), 6);
        assert_eq!(img.row(1), &[4, 5, 6]);
    }

    #[test]
    fn mean_is_exact_sum_over_count() {
        let img = ImageU8::from_vec(3, 1, vec![1, 2, 4]).unwrap();
        assert_eq!(img.mean(), 7.0 / 3.0);
        // several 2^16-pixel blocks of 255 (no u32 overflow) plus a partial block
        let big = ImageU8::from_fn(700, 300, |x, y| if (x + y) % 2 == 0 { 255 } else { 254 });
        let want = big.data().iter().map(|&v| v as f64).sum::<f64>() / 210_000.0;
        assert_eq!(big.mean(), want);
    }

    #[test]
    fn byte_sum_is_exact_at_every_length() {
        for len in [0, 1, 31, 63, 64, 65, 1000, 70_000] {
            let v: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            assert_eq!(sum_bytes(&v), sum_bytes_scalar(&v), "{len}");
            let full = vec![255u8; len];
            assert_eq!(sum_bytes(&full), 255 * len as u64, "{len}");
        }
    }

    #[test]
    fn scalar_mean_equals_the_dispatched_mean() {
        // the dispatch with SIMD off (the scalar sum) against the default (AVX2 where available)
        for len in [0, 1, 31, 32, 63, 64, 65, 127, 1000, 65_535, 65_536, 70_001] {
            let v: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let simd = sum_bytes(&v);
            assert_eq!(
                crate::augment::cpu::with_scalar(|| sum_bytes(&v)),
                simd,
                "{len}"
            );
            #[cfg(target_arch = "x86_64")]
            if crate::augment::cpu::avx2() {
                // SAFETY: AVX2 is available.
                assert_eq!(unsafe { sum_bytes_avx2(&v) }, simd, "{len}");
            }
            let img = ImageU8::from_vec(len, 1, v).unwrap();
            let mean = img.mean();
            let scalar = crate::augment::cpu::with_scalar(|| img.mean());
            assert!(mean.to_bits() == scalar.to_bits() || (mean.is_nan() && scalar.is_nan()));
        }
    }
}
