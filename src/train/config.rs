//! `[train]` of a pipeline file: what every part shares (folds, batch, clipping, validation
//! grid) and the staged parts (`[[train.parts]]`: rate, loss weights, sample rate, scheduler,
//! epochs, early stopping, top-k, resolution, transforms, encoder freezing), checked key by key.

use crate::train::error::InvalidKey;
use crate::train::loss::ComboLossConfig;
use crate::train::schedule::SchedulerConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Floating-point precision of the training step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// float32 everywhere (the reference).
    #[default]
    Fp32,
    /// bfloat16 autocast of the forward passes (training and validation; see
    /// [`crate::model::precision`]); weights, gradients, loss and optimizer stay float32.
    Bf16,
}

/// The validation grid's triplets (top, area, bottom) of the solution's Dec-2019 configs.
pub const SOLUTION_TRIPLETS: [[f64; 3]; 8] = [
    [0.75, 1000.0, 0.3],
    [0.75, 1000.0, 0.4],
    [0.75, 2000.0, 0.3],
    [0.75, 2000.0, 0.4],
    [0.6, 2000.0, 0.3],
    [0.6, 2000.0, 0.4],
    [0.6, 3000.0, 0.3],
    [0.6, 3000.0, 0.4],
];

/// `[train]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Folds to train, one after another (each validated on itself). Default `[0]`.
    #[serde(default = "default_folds")]
    pub folds: Vec<u8>,
    /// Samples per batch (the solution: 2).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Batches whose gradients are summed before a step (the solution: 1).
    #[serde(default = "one")]
    pub accumulation: usize,
    /// Total-norm gradient clipping (`clip / (norm + 1e-6)`); 0 turns it off. Default 0.1.
    #[serde(default = "default_clip")]
    pub clip: f64,
    /// Validate every N epochs (the scheduler, top-k and best follow validations). Default 1.
    #[serde(default = "one_u32")]
    pub validate_every: u32,
    /// `fp32` (default, the reference) or `bf16`.
    #[serde(default)]
    pub precision: Precision,
    /// Validation triplets `[top, area, bottom]`; the epoch's score is the best mean Dice over
    /// them. Default: the solution's eight.
    #[serde(default = "default_triplets")]
    pub triplets: Vec<[f64; 3]>,
    /// Scale each triplet's area with the resolution, `area · (size / 1024)²` (the areas were
    /// chosen at 1024²). Default true.
    #[serde(default = "yes")]
    pub scale_area: bool,
    /// The per-image Dice's eps (both empty gives 1). Default 1e-6.
    #[serde(default = "default_metric_eps")]
    pub metric_eps: f64,
    /// Batches in flight between the data workers and the training step. Default 4.
    #[serde(default = "default_in_flight")]
    pub in_flight: usize,
    /// The staged parts, in order.
    pub parts: Vec<PartConfig>,
}

/// One `[[train.parts]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartConfig {
    /// Adam's learning rate at the start of the part.
    pub lr: f64,
    /// Adam's coupled L2 weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Share of non-empty masks the sampler demands (`p` of the sliding sample rate).
    pub sample_rate: f64,
    /// Epochs at most.
    pub epochs: u32,
    /// Stop when `epoch - best_epoch > early_stopping`.
    pub early_stopping: u32,
    /// Epoch checkpoints kept (by validation score).
    pub top_k: usize,
    /// ComboLoss weights (`bce`, `dice`, `focal`, optional `dice_eps`).
    pub loss: ComboLossConfig,
    /// The learning-rate scheduler, stepped once per validated epoch.
    pub scheduler: SchedulerConfig,
    /// Training and validation resolution (default: `data.size`, else the dataset's).
    pub size: Option<u32>,
    /// A folds CSV (solution's format) for this part (default: `data.folds`, else the
    /// dataset's own folds).
    pub folds_file: Option<PathBuf>,
    /// Train transforms file (TOML `[augment]` or albumentations JSON; default: the
    /// pipeline's `[augment]`). A final `Resize` to `size` is always applied.
    pub transforms: Option<PathBuf>,
    /// Epochs at the start of the part with the encoder frozen (`requires_grad` off).
    #[serde(default)]
    pub freeze_encoder_epochs: u32,
}

fn default_folds() -> Vec<u8> {
    vec![0]
}
fn default_batch() -> usize {
    2
}
fn one() -> usize {
    1
}
fn one_u32() -> u32 {
    1
}
fn default_clip() -> f64 {
    0.1
}
fn default_triplets() -> Vec<[f64; 3]> {
    SOLUTION_TRIPLETS.to_vec()
}
fn yes() -> bool {
    true
}
fn default_metric_eps() -> f64 {
    1e-6
}
/// Batches in flight per data worker when `train.in_flight` is not set.
pub const DEFAULT_IN_FLIGHT: usize = 4;

fn default_in_flight() -> usize {
    DEFAULT_IN_FLIGHT
}

impl TrainConfig {
    /// Checks every value; the error's key is relative to `[train]` (`parts[1].lr`).
    pub fn validate(&self) -> Result<(), InvalidKey> {
        let bad = |key: &str, problem: String| Err(InvalidKey::new(key, problem));
        if self.folds.is_empty() {
            return bad("folds", "at least one fold to train".into());
        }
        if !(1..=4096).contains(&self.batch_size) {
            return bad(
                "batch_size",
                format!("{}: must be in 1..=4096", self.batch_size),
            );
        }
        if !(1..=1024).contains(&self.accumulation) {
            return bad(
                "accumulation",
                format!("{}: must be in 1..=1024", self.accumulation),
            );
        }
        if !(self.clip.is_finite() && self.clip >= 0.0) {
            return bad("clip", format!("{}: must be finite and >= 0", self.clip));
        }
        if self.validate_every == 0 {
            return bad("validate_every", "0: must be >= 1".into());
        }
        if self.triplets.is_empty() {
            return bad("triplets", "at least one [top, area, bottom]".into());
        }
        for (i, [top, area, bottom]) in self.triplets.iter().copied().enumerate() {
            let ok = (0.0..=1.0).contains(&top)
                && (0.0..=1.0).contains(&bottom)
                && area.is_finite()
                && area >= 0.0;
            if !ok {
                return bad(
                    &format!("triplets[{i}]"),
                    format!("[{top}, {area}, {bottom}]: thresholds in [0, 1], area >= 0"),
                );
            }
        }
        if !(self.metric_eps.is_finite() && self.metric_eps > 0.0) {
            return bad("metric_eps", format!("{}: must be > 0", self.metric_eps));
        }
        if !(1..=1024).contains(&self.in_flight) {
            return bad(
                "in_flight",
                format!("{}: must be in 1..=1024", self.in_flight),
            );
        }
        if self.parts.is_empty() {
            return bad("parts", "at least one [[train.parts]]".into());
        }
        for (i, p) in self.parts.iter().enumerate() {
            p.validate()
                .map_err(|e| e.prefixed(&format!("parts[{i}]")))?;
        }
        Ok(())
    }
}

impl PartConfig {
    /// Checks every value; keys are relative to the part.
    pub fn validate(&self) -> Result<(), InvalidKey> {
        let bad = |key: &str, problem: String| Err(InvalidKey::new(key, problem));
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return bad("lr", format!("{}: must be finite and >= 0", self.lr));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight_decay",
                format!("{}: must be finite and >= 0", self.weight_decay),
            );
        }
        if !(self.sample_rate > 0.0 && self.sample_rate <= 1.0) {
            return bad(
                "sample_rate",
                format!("{}: must be in (0, 1]", self.sample_rate),
            );
        }
        if self.epochs == 0 {
            return bad("epochs", "0: must be >= 1".into());
        }
        if self.top_k == 0 {
            return bad("top_k", "0: keep at least one checkpoint".into());
        }
        if let Some(size) = self.size {
            if !(32..=8192).contains(&size) || size % 32 != 0 {
                return bad(
                    "size",
                    format!("{size}: must be a multiple of 32 in 32..=8192"),
                );
            }
        }
        self.loss.validate().map_err(|e| e.prefixed("loss"))?;
        self.scheduler
            .validate()
            .map_err(|e| e.prefixed("scheduler"))?;
        Ok(())
    }
}
