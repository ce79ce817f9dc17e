//! Threshold sweeps over stored predictions: mean per-image Dice of every configuration
//! `(top, area, bottom, min_contour_area)` of a grid, per fold and overall, for every prediction
//! set of a store. Pure CPU (no tch, no timely); `crate::dataflow::sweep` spreads the work over
//! workers.
//!
//! - [`config`]: `[sweep]` of the pipeline file (grid, set, output) for `pneumoflow run`.
//! - [`grid`]: the grid file (TOML) and its resolution for a set's size ([`Plan`]).
//! - [`terms`]: per image, one pass over the pixels builds histograms of `q` over all pixels and
//!   over ground-truth pixels; after that each `(top, area, bottom)` costs O(1). Contours are
//!   traced once per (image, bottom) only when min contour areas are swept.
//! - [`sums`]: per-configuration Dice sums in fixed point, independent of the order images are
//!   added in (any number of workers gives the same bits).
//! - [`store`]: prediction sets (shard datasets of u8 or f16 maps + ground truth) and stores.
//! - [`result`]: per (set, fold) results, best configurations, `sweep.csv`, the serial sweep.
//! - [`heatmap`]: the heatmap `sweep.png`.
//! - [`watch`]: the complete sets of a store, and what changed between two scans (`sweep
//!   --watch`; the incremental sweep itself is `crate::dataflow::incremental_sweep`).
//!
//! The per-image Dice is exactly the metric's (`crate::metric`): the triplet rule on u8 maps
//! (`q / 255 > t`) or f16 maps (`f32(h) > t as f32`), `remove_smallest` for `A > 0`, `(2|P∩G| + eps) / (|P| + |G| + eps)`, both
//! empty = 1; `tests/sweep.rs` checks every configuration against that brute force.

pub mod config;
pub mod grid;
pub mod heatmap;
pub mod result;
pub mod store;
pub mod sums;
pub mod terms;
pub mod watch;

pub use grid::{Config, Grid, Plan};
pub use result::{sweep_serial, SetResult, SweepResult};
pub use store::{open_store, PredictionSet, Reader, PREDICTIONS_KIND};
pub use sums::{from_fixed, to_fixed, DiceSums};
pub use terms::{ImageTerms, TermScratch};

use crate::data::DataError;
use crate::metric::MetricError;
use std::path::PathBuf;
use thiserror::Error;

/// Why a sweep failed; every variant names the file, set, record or key.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SweepError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The grid file is not valid TOML.
    #[error("{origin}: invalid TOML: {message}")]
    GridToml {
        /// The grid file.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A key of the grid file is unknown, missing or has a bad value.
    #[error("{origin}: {key}: {problem}")]
    GridKey {
        /// The grid file.
        origin: String,
        /// The key (`top`, `area[2]`, ...).
        key: String,
        /// What is wrong, with the value.
        problem: String,
    },
    /// A prediction set or store could not be opened: not a prediction set, no set in the
    /// store, or a manifest that disagrees with its shards (the message names the file).
    #[error(transparent)]
    Store(#[from] DataError),
    /// A prediction set without records.
    #[error("prediction set {path} holds no records")]
    EmptySet {
        /// The set's directory.
        path: PathBuf,
    },
    /// A prediction set with test records, which have no ground truth to score against.
    #[error(
        "prediction set {path}: record {index} ({id}) is a test record without ground truth \
         ({tests} test record(s) in the set); sweeps need out-of-fold predictions of train records"
    )]
    NoGroundTruth {
        /// The set's directory.
        path: PathBuf,
        /// The first test record's index.
        index: usize,
        /// Its id.
        id: String,
        /// Test records in the set.
        tests: usize,
    },
    /// A record could not be read or scored.
    #[error("prediction set {path}: record {index} ({id}): {problem}")]
    Record {
        /// The set's directory.
        path: PathBuf,
        /// The record's index.
        index: usize,
        /// Its id.
        id: String,
        /// What went wrong (a corrupt shard names its file and slot).
        problem: String,
    },
    /// A map and its ground truth do not have the plan's size.
    #[error(transparent)]
    Metric(#[from] MetricError),
    /// An f16 map holds a value outside `[0, 1]` (or NaN), which no writer of prediction sets
    /// stores.
    #[error("pixel {pixel} holds {value}, outside the probabilities [0, 1]")]
    OutOfRange {
        /// The first such pixel (row-major index).
        pixel: usize,
        /// Its value.
        value: f32,
    },
    /// The heatmap could not be encoded.
    #[error("{path}: cannot encode PNG: {source}")]
    Png {
        /// The output file.
        path: PathBuf,
        /// The encoder's error.
        source: png::EncodingError,
    },
}
