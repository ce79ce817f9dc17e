//! Inference (tch): the network's probability maps for the prediction store, as the solution's
//! `Inference.py` made them: eval mode, sigmoid, horizontal-flip TTA averaged after the sigmoid,
//! and several checkpoints averaged as predictions (a running mean), never as weights.
//!
//! - [`config`]: `[predict]` of the pipeline file.
//! - [`predictor`]: [`Predictor`], the networks of the checkpoints on one device, fed host batches.
//! - [`checkpoints`]: which checkpoints of a training run directory a prediction uses.

pub mod checkpoints;
pub mod config;
pub mod predictor;

pub use checkpoints::{fold_checkpoints, CheckpointError};
pub use config::{CheckpointChoice, PredictConfig};
pub use predictor::{PredictError, Predictor};
