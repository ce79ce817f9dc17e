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
    for v in img.data_mut() {
        *v = lut[usize::from(*v)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
