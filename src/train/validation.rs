//! [`ValidationScore`]: the epoch score of the solution's validation: per-image Dice (both empty
//! gives 1) of the triplet-binarised prediction, averaged over the images, for every triplet of
//! the grid; the score is the best triplet's mean (the first one reaching it, as the reference's
//! strictly-greater search).

use crate::metric::{count_above_f32, threshold_f32_into, DiceCounts, MeanDice};

/// Running validation of one epoch.
#[derive(Clone, Debug)]
pub struct ValidationScore {
    /// `(top, area, bottom)` with the area already scaled to the resolution.
    triplets: Vec<(f64, u64, f64)>,
    eps: f64,
    dice: Vec<MeanDice>,
    loss_sum: f64,
    loss_images: u64,
    mask: Vec<u8>,
}

/// The result of a validation.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ValidationResult {
    /// Best mean Dice over the triplets (the epoch's score).
    pub score: f64,
    /// The triplet that reached it, `[top, area, bottom]` (area as configured, unscaled).
    pub best_triplet: [f64; 3],
    /// Mean Dice of every triplet, in grid order.
    pub per_triplet: Vec<f64>,
    /// Mean loss over the images.
    pub loss: f64,
    /// Images validated.
    pub images: u64,
}

impl ValidationScore {
    /// A validation over `triplets` (`[top, area, bottom]`, areas chosen at 1024²), at `size`²;
    /// with `scale_area` each area becomes `round(area · (size/1024)²)`.
    pub fn new(triplets: &[[f64; 3]], size: u32, scale_area: bool, eps: f64) -> ValidationScore {
        let scale = if scale_area {
            (size as f64 / 1024.0).powi(2)
        } else {
            1.0
        };
        ValidationScore {
            triplets: triplets
                .iter()
                .map(|&[top, area, bottom]| (top, (area * scale).round() as u64, bottom))
                .collect(),
            eps,
            dice: vec![MeanDice::new(); triplets.len()],
            loss_sum: 0.0,
            loss_images: 0,
            mask: Vec::new(),
        }
    }

    /// Adds one image: its probabilities and its 0/255 (or 0/1) ground truth.
    ///
    /// # Panics
    /// If `probs` and `truth` differ in length.
    pub fn add_image(&mut self, probs: &[f32], truth: &[u8]) {
        assert_eq!(probs.len(), truth.len(), "prediction and truth sizes");
        self.mask.resize(probs.len(), 0);
        for (k, &(top, area, bottom)) in self.triplets.iter().enumerate() {
            let positive = count_above_f32(probs, top) >= area;
            if positive {
                threshold_f32_into(probs, bottom, &mut self.mask).expect("equal lengths");
            } else {
                self.mask.fill(0);
            }
            let counts = DiceCounts::of(&self.mask, truth).expect("equal lengths");
            self.dice[k].add(counts.dice(self.eps));
        }
    }

    /// Adds the loss of a batch of `images` images (the batch mean).
    pub fn add_loss(&mut self, mean_loss: f64, images: usize) {
        self.loss_sum += mean_loss * images as f64;
        self.loss_images += images as u64;
    }

    /// The result so far; `configured` are the triplets as configured (for the report).
    pub fn result(&self, configured: &[[f64; 3]]) -> ValidationResult {
        let per: Vec<f64> = self.dice.iter().map(|d| d.mean().unwrap_or(0.0)).collect();
        let mut best = 0;
        for (k, &v) in per.iter().enumerate() {
            if v > per[best] {
                best = k;
            }
        }
        ValidationResult {
            score: per.get(best).copied().unwrap_or(0.0),
            best_triplet: configured.get(best).copied().unwrap_or([0.0; 3]),
            per_triplet: per,
            loss: if self.loss_images == 0 {
                0.0
            } else {
                self.loss_sum / self.loss_images as f64
            },
            images: self.dice.first().map(|d| d.images()).unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_the_best_triplet_mean_with_empty_empty_counting_one() {
        let grid = [[0.5, 2.0, 0.3], [0.9, 1.0, 0.3]];
        let mut v = ValidationScore::new(&grid, 1024, true, 1e-6);
        // Image 1: a 2-pixel object predicted with 0.6 / 0.4.
        v.add_image(&[0.6, 0.4, 0.1, 0.0], &[255, 255, 0, 0]);
        // Image 2: empty truth, weak noise: empty prediction under both triplets -> Dice 1.
        v.add_image(&[0.2, 0.1, 0.0, 0.0], &[0, 0, 0, 0]);
        v.add_loss(0.5, 2);
        let r = v.result(&grid);
        // Triplet 0: image 1 count(p>0.5)=1 < 2 -> empty -> Dice ~0; image 2 -> 1.
        // Triplet 1: count(p>0.9)=0 < 1 -> empty -> ~0; image 2 -> 1.
        assert!((r.per_triplet[0] - 0.5).abs() < 1e-6, "{r:?}");
        assert_eq!(r.images, 2);
        assert_eq!(r.loss, 0.5);
        let mut v = ValidationScore::new(&grid, 1024, true, 1e-6);
        v.add_image(&[0.6, 0.55, 0.1, 0.0], &[255, 255, 0, 0]);
        let r = v.result(&grid);
        assert!(
            (r.score - 1.0).abs() < 1e-6 && r.best_triplet == grid[0],
            "{r:?}"
        );
    }

    #[test]
    fn areas_scale_with_the_resolution() {
        let v = ValidationScore::new(&[[0.75, 2000.0, 0.3]], 256, true, 1e-6);
        assert_eq!(v.triplets[0].1, 125);
        let v = ValidationScore::new(&[[0.75, 2000.0, 0.3]], 256, false, 1e-6);
        assert_eq!(v.triplets[0].1, 2000);
    }
}
