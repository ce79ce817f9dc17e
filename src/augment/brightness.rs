//! `RandomBrightness` (albumentations 0.3.x): additive offset `beta * mean(image)`, not `beta * 255`.

use super::contrast::apply_lut;
use super::rng::uniform;
use super::transform::Prob;
use super::ImageU8;
use rand::Rng;

/// albumentations 0.3.1 `RandomBrightness(limit)`: `beta = U(limit)`,
/// `LUT[i] = trunc(clip(float32(i) + float32(beta * mean(img)), 0, 255))`; image only.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomBrightness {
    /// Range of `beta` (albumentations `limit`).
    pub limit: (f64, f64),
    /// When it runs.
    pub prob: Prob,
}

impl RandomBrightness {
    /// Draws `beta = U(limit)`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        uniform(rng, self.limit.0, self.limit.1)
    }

    /// Adds `beta * mean(image)` through the LUT (skipped when `beta == 0`).
    pub fn apply(&self, beta: f64, image: &mut ImageU8) {
        if beta == 0.0 {
            return;
        }
        let lut = brightness_lut(beta * image.mean());
        apply_lut(image, &lut);
    }
}

/// `lut = arange(256, float32); lut += float32(offset); clip; astype(uint8)`.
pub fn brightness_lut(offset: f64) -> [u8; 256] {
    let o = offset as f32;
    std::array::from_fn(|i| (i as f32 + o).clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_scales_with_the_image_mean() {
        let mut img = ImageU8::from_vec(2, 1, vec![100, 200]).unwrap(); // mean 150
        let t = RandomBrightness {
            limit: (-0.2, 0.2),
            prob: Prob::always(),
        };
        t.apply(0.1, &mut img); // +15
        assert_eq!(img.data(), &[115, 215]);
        t.apply(-1.0, &mut img); // mean 165 -> -165, clipped at 0
        assert_eq!(img.data(), &[0, 50]);
    }

    #[test]
    fn scalar_mean_and_lut_paths_give_the_same_image() {
        // the image mean (AVX2 byte sum) and the LUT apply, dispatched and with SIMD off
        let t = RandomBrightness {
            limit: (-0.2, 0.2),
            prob: Prob::always(),
        };
        for (w, h) in [(1, 1), (67, 3), (517, 130)] {
            let img = ImageU8::from_fn(w, h, |x, y| ((x * 7 + y * 13) % 256) as u8);
            for beta in [-0.2, -0.013, 0.07, 0.2] {
                let (mut simd, mut scalar) = (img.clone(), img.clone());
                t.apply(beta, &mut simd);
                crate::augment::cpu::with_scalar(|| t.apply(beta, &mut scalar));
                assert_eq!(simd, scalar, "{w}x{h} beta {beta}");
            }
        }
    }
}
