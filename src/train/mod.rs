//! The solution's training recipe in tch, each piece exact against PyTorch 2.13 on CPU:
//!
//! - [`loss`]: [`ComboLoss`] (weighted StableBCE + batch soft Dice + focal on logits), values and
//!   gradients bit-identical to the reference's op sequence;
//! - [`optim`]: [`Adam`] (`torch.optim.Adam`'s single-tensor step, coupled L2 decay) with
//!   save/load-able per-parameter state, and [`clip_grad_norm`] (`clip_grad_norm_`);
//! - [`schedule`]: the learning-rate schedulers (`ReduceLROnPlateau`, `CosineAnnealingLR` in
//!   closed form, `CosineAnnealingWarmRestarts`), pure Rust, with their pipeline config;
//! - [`config`]: `[train]` and its `[[train.parts]]`, checked key by key;
//! - [`trainer`]: [`Trainer`], the training step and evaluation pass on host batches;
//! - [`validation`]: [`ValidationScore`], per-image Dice over the triplet grid, best triplet;
//! - [`curves`]: `curves.png` (loss, score, lr, sample rate per epoch, parts marked);
//! - [`run_dir`]: the run directory (checkpoints, metrics.jsonl, resume state);
//! - [`checkpoint`]: top-k checkpoints per part, the best checkpoint per fold across parts and
//!   early stopping, as pure policy (no I/O).
//!
//! `tests/train_parity.rs` replays fixtures of `tests/fixtures/train/gen_train_fixtures.py`.
pub mod checkpoint;
pub mod config;
pub mod curves;
pub mod error;
pub mod loss;
pub mod optim;
pub mod run_dir;
pub mod schedule;
pub mod trainer;
pub mod validation;

pub use checkpoint::{Best, CheckpointAction, CheckpointPolicy, Decision, FoldCheckpoints};
pub use config::{PartConfig, Precision, TrainConfig, SOLUTION_TRIPLETS};
pub use error::{CheckpointError, InvalidKey, TrainError};
pub use loss::{ComboLoss, ComboLossConfig, LossOutput, LossValues};
pub use optim::{clip_grad_norm, var_store_parameters, Adam, AdamConfig, ParamState};
pub use run_dir::{EpochMetrics, FoldState, RunDir, RunDirError};
pub use schedule::{
    CosineConfig, LrScheduler, PlateauConfig, PlateauMode, SchedulerConfig, SchedulerState,
    ThresholdMode, WarmRestartsConfig,
};
pub use trainer::{batch_tensors, with_input_tensors, BatchStats, Trainer};
pub use validation::{ValidationResult, ValidationScore};
