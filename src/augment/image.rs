//! `ImageU8`: the single-channel 8-bit buffer every transform reads and writes (images and masks).

use super::AugmentError;

/// A single-channel 8-bit image in row-major order (`data[y * width + x]`).
///
/// Images are grey X-rays; masks use the same type with values {0, 255} (or {0, 1}): geometric
/// transforms resample masks with nearest-neighbour, so mask values are never mixed.
#[derive(Clone, PartialEq, Eq)]
pub struct ImageU8 {
    width: usize,
    height: usize,
    data: Vec<u8>,
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
        if data.len() != width * height {
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
        // u32 partial sums over blocks that cannot overflow (vectorises well), then u64
        let sum: u64 = self
            .data
            .chunks(1 << 16)
            .map(|c| u64::from(c.iter().map(|&v| u32::from(v)).sum::<u32>()))
            .sum();
        sum as f64 / self.data.len() as f64
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
}
