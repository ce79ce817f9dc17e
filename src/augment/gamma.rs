//! `RandomGamma` (albumentations 0.3.x): gamma in integer hundredths, uint8 LUT with exponent 1/gamma.

use super::contrast::apply_lut;
use super::rng::randint;
use super::transform::Prob;
use super::ImageU8;
use rand::Rng;

/// albumentations 0.3.1 `RandomGamma(gamma_limit)`: `gamma = randint(lo, hi) / 100` (both ends
/// inclusive: 41 values for (80, 120)), `LUT[i] = trunc(255 * (i / 255) ** (1 / gamma))` in
/// float64, so gamma > 1 brightens in this version. Image only.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomGamma {
    /// Integer range of `100 * gamma` (albumentations `gamma_limit`).
    pub gamma_limit: (i64, i64),
    /// When it runs.
    pub prob: Prob,
}

impl RandomGamma {
    /// Draws `gamma = randint(lo, hi) / 100`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        randint(rng, self.gamma_limit.0, self.gamma_limit.1) as f64 / 100.0
    }

    /// Applies the gamma LUT.
    pub fn apply(&self, gamma: f64, image: &mut ImageU8) {
        apply_lut(image, &gamma_lut(gamma));
    }
}

/// `((i / 255.0) ** (1.0 / gamma)) * 255`, cast to uint8 by truncation.
pub fn gamma_lut(gamma: f64) -> [u8; 256] {
    let inv = 1.0 / gamma;
    std::array::from_fn(|i| ((i as f64 / 255.0).powf(inv) * 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_above_one_brightens_and_endpoints_are_fixed() {
        let lut = gamma_lut(1.2);
        assert_eq!((lut[0], lut[255]), (0, 255));
        assert!(lut[128] > 128);
        assert!(gamma_lut(0.8)[128] < 128);
    }

    #[test]
    fn scalar_lut_path_gives_the_same_image() {
        let img = ImageU8::from_fn(301, 5, |x, y| (x * 3 + y * 101) as u8);
        let t = RandomGamma {
            gamma_limit: (80, 120),
            prob: Prob::always(),
        };
        for gamma in [0.8, 0.97, 1.2] {
            let (mut simd, mut scalar) = (img.clone(), img.clone());
            t.apply(gamma, &mut simd);
            crate::augment::cpu::with_scalar(|| t.apply(gamma, &mut scalar));
            assert_eq!(simd, scalar, "gamma {gamma}");
            let lut = gamma_lut(gamma);
            assert!(img
                .data()
                .iter()
                .zip(scalar.data())
                .all(|(&i, &o)| lut[usize::from(i)] == o));
        }
    }
}
