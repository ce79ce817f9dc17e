//! Per-image Dice on binary masks and its mean over images (the solution's `dice_metric`).
//!
//! `dice = (2 |P ∩ G| + eps) / (|P| + |G| + eps)` per image (nonzero pixels are foreground), then
//! the plain mean over images. Both masks empty gives exactly 1; exactly one empty gives
//! `eps / (n + eps)`, about 0. The solution's training code used `eps = 1e-6`
//! ([`DEFAULT_EPS`]), its competition-time metric `1e-4` ([`COMPETITION_EPS`]). Counts are exact
//! integers and the ratio is computed in f64 (torch computed it in f32, which differs by float
//! rounding only).

use super::MetricError;

/// The `eps` of the solution's `soft_dice_loss` / `dice_metric`.
pub const DEFAULT_EPS: f64 = 1e-6;
/// The `eps` of the competition-time validation code.
pub const COMPETITION_EPS: f64 = 1e-4;

/// The three pixel counts Dice needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiceCounts {
    /// Pixels foreground in both masks.
    pub intersection: u64,
    /// Foreground pixels of the prediction.
    pub pred: u64,
    /// Foreground pixels of the ground truth.
    pub truth: u64,
}

impl DiceCounts {
    /// Counts the foreground pixels of `pred`, `truth` and both (the slices must have equal length).
    pub fn of(pred: &[u8], truth: &[u8]) -> Result<Self, MetricError> {
        if pred.len() != truth.len() {
            return Err(MetricError::LengthMismatch {
                pred: pred.len(),
                truth: truth.len(),
            });
        }
        let mut c = Self::default();
        for (&p, &t) in pred.iter().zip(truth) {
            let (p, t) = (u64::from(p != 0), u64::from(t != 0));
            c.pred += p;
            c.truth += t;
            c.intersection += p & t;
        }
        Ok(c)
    }

    /// `(2 * intersection + eps) / (pred + truth + eps)`.
    pub fn dice(&self, eps: f64) -> f64 {
        (2.0 * self.intersection as f64 + eps) / ((self.pred + self.truth) as f64 + eps)
    }
}

/// Dice of one image pair with the given `eps`.
pub fn dice(pred: &[u8], truth: &[u8], eps: f64) -> Result<f64, MetricError> {
    Ok(DiceCounts::of(pred, truth)?.dice(eps))
}

/// Running mean of per-image Dice values.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MeanDice {
    sum: f64,
    images: u64,
}

impl MeanDice {
    /// An empty mean (no images).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one image's Dice.
    pub fn add(&mut self, dice: f64) {
        self.sum += dice;
        self.images += 1;
    }

    /// Merges another partial mean (e.g. from another worker).
    pub fn merge(&mut self, other: &MeanDice) {
        self.sum += other.sum;
        self.images += other.images;
    }

    /// Number of images added.
    pub fn images(&self) -> u64 {
        self.images
    }

    /// The mean, `None` before any image.
    pub fn mean(&self) -> Option<f64> {
        (self.images > 0).then(|| self.sum / self.images as f64)
    }
}

/// Mean per-image Dice over `(pred, truth)` pairs; `None` for no pairs.
pub fn mean_dice<'a>(
    pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    eps: f64,
) -> Result<Option<f64>, MetricError> {
    let mut m = MeanDice::new();
    for (p, t) in pairs {
        m.add(dice(p, t, eps)?);
    }
    Ok(m.mean())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_empty_is_one_one_empty_is_about_zero() {
        assert_eq!(dice(&[0, 0, 0], &[0, 0, 0], DEFAULT_EPS).unwrap(), 1.0);
        assert_eq!(dice(&[], &[], COMPETITION_EPS).unwrap(), 1.0);
        let d = dice(&[255, 0, 0, 0], &[0, 0, 0, 0], DEFAULT_EPS).unwrap();
        assert_eq!(d, 1e-6 / (1.0 + 1e-6));
        let d = dice(&[0, 0], &[1, 1], COMPETITION_EPS).unwrap();
        assert!(d > 0.0 && d < 1e-4, "{d}");
    }

    #[test]
    fn overlap_and_values() {
        // P = {0, 1}, G = {1, 2, 3}: 2*1 / (2 + 3)
        let p = [1, 255, 0, 0];
        let g = [0, 1, 7, 1];
        let c = DiceCounts::of(&p, &g).unwrap();
        assert_eq!(
            c,
            DiceCounts {
                intersection: 1,
                pred: 2,
                truth: 3
            }
        );
        assert!((c.dice(0.0) - 0.4).abs() < 1e-15);
        assert_eq!(dice(&p, &g, 1e-4).unwrap(), (2.0 + 1e-4) / (5.0 + 1e-4));
        assert_eq!(dice(&p, &p, DEFAULT_EPS).unwrap(), 1.0);
        assert_eq!(dice(&[1, 0], &[0, 1], 0.0).unwrap(), 0.0);
    }

    #[test]
    fn mean_over_images() {
        let a: &[u8] = &[1, 1];
        let z: &[u8] = &[0, 0];
        // 1 (identical), 1 (both empty), ~0 (one empty)
        let m = mean_dice([(a, a), (z, z), (a, z)], DEFAULT_EPS)
            .unwrap()
            .unwrap();
        assert!((m - 2.0 / 3.0).abs() < 1e-6, "{m}");
        assert_eq!(mean_dice(std::iter::empty(), DEFAULT_EPS).unwrap(), None);
        let mut x = MeanDice::new();
        x.add(1.0);
        let mut y = MeanDice::new();
        y.add(0.0);
        y.add(0.5);
        x.merge(&y);
        assert_eq!((x.images(), x.mean()), (3, Some(0.5)));
        assert!(dice(&[0], &[0, 0], DEFAULT_EPS).is_err());
    }
}
