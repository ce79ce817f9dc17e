//! Errors of the model module: bad network input ([`ModelError`]) and weight files
//! ([`WeightsError`], with a key-by-key [`Mismatch`] report).
use crate::model::ModelKind;
use std::fmt;
use std::path::PathBuf;
use tch::TchError;

/// A network cannot run on the given input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The input is not `[N, 3, H, W]`.
    #[error("{model} expects input [N, 3, H, W], got {shape:?}")]
    InputShape {
        /// The network.
        model: ModelKind,
        /// The shape given.
        shape: Vec<i64>,
    },
    /// The input's dtype differs from the weights'.
    #[error("{model} expects {expected:?} input (the weights' dtype), got {got:?}")]
    InputKind {
        /// The network.
        model: ModelKind,
        /// The var store's kind.
        expected: tch::Kind,
        /// The input's kind.
        got: tch::Kind,
    },
    /// Height or width is not a positive multiple of what the network's strides need.
    #[error(
        "{model} cannot take a {height}×{width} input: height and width must be positive multiples of \
         {multiple} (its skip connections need every /2 stage to halve exactly)"
    )]
    InputSize {
        /// The network.
        model: ModelKind,
        /// Input height.
        height: i64,
        /// Input width.
        width: i64,
        /// Required multiple.
        multiple: i64,
    },
    /// Train-mode BatchNorm needs more than one value per channel at the deepest stage.
    #[error(
        "{model} in train mode needs more than one value per channel in its /32 BatchNorm \
         (batch × H/32 × W/32 ≥ 2), got input {shape:?}"
    )]
    TrainBatchTooSmall {
        /// The network.
        model: ModelKind,
        /// The shape given.
        shape: Vec<i64>,
    },
    /// libtorch failed.
    #[error(transparent)]
    Torch(#[from] TchError),
}

/// What a weights file holds, as recognised by the importer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceLayout {
    /// A state_dict of the whole network (reference checkpoint or our own export).
    FullModel,
    /// An ImageNet classifier state_dict whose trunk is this network's encoder.
    ImagenetEncoder,
}

impl fmt::Display for SourceLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceLayout::FullModel => "full-model state_dict",
            SourceLayout::ImagenetEncoder => "ImageNet encoder state_dict",
        })
    }
}

/// Keys and shapes that do not fit the network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mismatch {
    /// Model variables the file lacks.
    pub missing: Vec<String>,
    /// File keys that map to no model variable.
    pub unexpected: Vec<String>,
    /// `(variable, expected shape, file shape)`.
    pub shapes: Vec<(String, Vec<i64>, Vec<i64>)>,
}

impl Mismatch {
    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.shapes.is_empty()
    }
}

const LIST_LIMIT: usize = 12;

fn write_list(f: &mut fmt::Formatter<'_>, title: &str, items: &[String]) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    write!(f, "\n  {} {title}:", items.len())?;
    for item in items.iter().take(LIST_LIMIT) {
        write!(f, "\n    {item}")?;
    }
    if items.len() > LIST_LIMIT {
        write!(f, "\n    … and {} more", items.len() - LIST_LIMIT)?;
    }
    Ok(())
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, "missing (in the model, not in the file)", &self.missing)?;
        write_list(
            f,
            "unexpected (in the file, not in the model)",
            &self.unexpected,
        )?;
        let shapes: Vec<String> = self
            .shapes
            .iter()
            .map(|(k, want, got)| format!("{k}: model {want:?}, file {got:?}"))
            .collect();
        write_list(f, "shape mismatches", &shapes)
    }
}

/// A weights file cannot be read, mapped or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeightsError {
    /// File-system failure.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// libtorch could not read or write the file.
    #[error("{path}: {source}")]
    Torch {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: TchError,
    },
    /// A PyTorch pickle (`torch.save`) that libtorch's loaders cannot read.
    #[error(
        "{path}: libtorch cannot read this PyTorch pickle from Rust ({reason}); convert it first with \
         `python scripts/pth_to_safetensors.py {path} OUT.safetensors` and import OUT.safetensors"
    )]
    Pickle {
        /// The file.
        path: PathBuf,
        /// What libtorch said.
        reason: String,
    },
    /// Neither `.safetensors` nor a PyTorch pickle extension.
    #[error("{path}: unknown weights format (expected .safetensors, .pth, .pt, .bin or .ckpt)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// No key belongs to the network or to its ImageNet encoder.
    #[error(
        "no key of the file belongs to {model} or its ImageNet encoder (first keys: {sample:?})"
    )]
    Unrecognised {
        /// The network.
        model: ModelKind,
        /// Some of the file's keys.
        sample: Vec<String>,
    },
    /// An alias key holds a tensor different from its canonical key.
    #[error("{alias} and {canonical} must hold the same tensor (the reference registers it twice), but differ")]
    AliasConflict {
        /// The alias key in the file.
        alias: String,
        /// The canonical key in the file.
        canonical: String,
    },
    /// An encoder-only file where a complete checkpoint is required.
    #[error("{path} holds only an ImageNet encoder; run `pneumoflow weights import` to build a full checkpoint")]
    EncoderOnly {
        /// The file.
        path: PathBuf,
    },
    /// Keys or shapes do not fit the network.
    #[error("the {layout} does not fit {model}:{mismatch}")]
    Mismatch {
        /// The network.
        model: ModelKind,
        /// What the file was recognised as.
        layout: SourceLayout,
        /// The differences.
        mismatch: Mismatch,
    },
}
