//! `[predict]`: how a pipeline's checkpoints predict (resolution, batch, TTA, which checkpoints,
//! where the prediction store goes).

use crate::data::prob_map::MapEncoding;
use serde::Deserialize;
use std::path::PathBuf;

/// Which checkpoints of each fold predict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointChoice {
    /// The top-k checkpoints of the fold's last trained part, averaged (the solution's
    /// `result_top3`).
    #[default]
    Top,
    /// The fold's best checkpoint (`best_fold<K>.safetensors`, the solution's `SUBMIT_BEST`).
    Best,
}

/// `[predict]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictConfig {
    /// Side of the network input (default: the last training part's size, else `data.size`).
    /// Maps are resized (bilinear) to the dataset's size before they are stored.
    pub size: Option<u32>,
    /// Images per forward pass.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Horizontal-flip TTA, averaged after the sigmoid.
    #[serde(default = "default_tta")]
    pub tta: bool,
    /// `top` (default) or `best`.
    #[serde(default)]
    pub checkpoints: CheckpointChoice,
    /// The prediction store (default: `<run dir>/predictions`).
    pub out: Option<PathBuf>,
    /// zstd level of the stored maps.
    #[serde(default = "default_level")]
    pub level: i32,
    /// How maps are stored: `"u8"` (default, `round(p · 255)`) or `"f16"`.
    #[serde(default)]
    pub encoding: MapEncoding,
}

impl Default for PredictConfig {
    fn default() -> Self {
        PredictConfig {
            size: None,
            batch_size: default_batch_size(),
            tta: default_tta(),
            checkpoints: CheckpointChoice::default(),
            out: None,
            level: default_level(),
            encoding: MapEncoding::default(),
        }
    }
}

fn default_batch_size() -> usize {
    2
}

fn default_tta() -> bool {
    true
}

fn default_level() -> i32 {
    3
}

impl PredictConfig {
    /// Checks the values; `Err((key, problem))` names the key under `predict.`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(1..=4096).contains(&self.batch_size) {
            return Err((
                "batch_size".into(),
                format!("{}: must be within 1..=4096", self.batch_size),
            ));
        }
        crate::data::predictions::check_set_settings(self.size, self.level)
    }
}
