//! Errors of the training layer: a bad setting ([`InvalidKey`], named by its key), tch-side
//! failures of the loss and the optimizer ([`TrainError`]), and misuse of the checkpoint policy
//! ([`CheckpointError`]).
use tch::TchError;

/// A configuration value is out of range. `key` is relative to the table that holds it (`factor`,
/// `t_max`, `weight_decay`); the pipeline loader prefixes the table's path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct InvalidKey {
    /// The key (`factor`, `betas[1]`).
    pub key: String,
    /// What is wrong, with the value found.
    pub problem: String,
}

impl InvalidKey {
    /// `key`: `problem`.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        InvalidKey {
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// The same error with its key under `table` (`loss` + `bce` → `loss.bce`).
    pub fn prefixed(self, table: &str) -> Self {
        InvalidKey {
            key: format!("{table}.{}", self.key),
            problem: self.problem,
        }
    }
}

/// The loss or the optimizer cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A setting is out of range.
    #[error(transparent)]
    Config(#[from] InvalidKey),
    /// Logits and targets do not have the shapes the loss needs.
    #[error("ComboLoss needs logits and targets of one shape [B, 1, H, W], got logits {logits:?} and targets {targets:?}")]
    LossShape {
        /// The logits' shape.
        logits: Vec<i64>,
        /// The targets' shape.
        targets: Vec<i64>,
    },
    /// Logits or targets are not floating point, or their dtypes differ.
    #[error("ComboLoss needs floating-point logits and targets of one dtype, got {logits:?} and {targets:?}")]
    LossKind {
        /// The logits' dtype.
        logits: tch::Kind,
        /// The targets' dtype.
        targets: tch::Kind,
    },
    /// Two parameters handed to the optimizer share a name.
    #[error("parameter {name} is given to the optimizer twice")]
    DuplicateParameter {
        /// The name.
        name: String,
    },
    /// An optimizer state does not fit the optimizer's parameters.
    #[error("optimizer state {key}: {problem}")]
    State {
        /// The state key (`conv1.weight.exp_avg`).
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// An optimizer state file cannot be read or written (the cause names the file).
    #[error("optimizer state file: {0}")]
    StateFile(Box<crate::model::WeightsError>),
    /// The network refused its input (shape, kind or size).
    #[error("{0}")]
    Model(String),
    /// The loss is NaN or infinite.
    #[error("the loss is {value}")]
    NonFinite {
        /// The loss value.
        value: f64,
    },
    /// libtorch failed.
    #[error(transparent)]
    Torch(#[from] TchError),
}

/// The checkpoint policy was driven out of order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// `observe` before any `start_part`.
    #[error("no training part started: call start_part before observing a validation score")]
    NoPart,
    /// Epochs of a part must be observed in increasing order.
    #[error("part {part}: epoch {epoch} observed after epoch {last}; epochs must increase")]
    EpochOrder {
        /// The part.
        part: u32,
        /// The epoch observed.
        epoch: u32,
        /// The last epoch observed before it.
        last: u32,
    },
}
