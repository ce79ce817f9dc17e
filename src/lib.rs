//! pneumoflow: the SIIM-ACR pneumothorax 1st-place solution as a timely dataflow over shards.
//!
//! Layers (dependencies flow one way, top to bottom):
//! - `data_prep` (separate crate): formats: RLE, DICOM, shards, folds, synthetic data.
//! - [`augment`]: albumentations 0.3.1 transforms, bit-exact with OpenCV. No tch, no timely.
//! - [`data`]: per-record work (sample, prep, dataset writer, sampler, host batches). No tch,
//!   no timely.
//! - [`metric`]: Dice, the triplet rule and OpenCV-exact contour filtering. No tch, no timely.
//! - [`submit`]: the submission CSV from a prediction set (post-processing, 1024², RLE). No tch,
//!   no timely.
//! - [`model`]: the solution's networks in tch.
//! - [`train`]: the training recipe in tch: ComboLoss, Adam, clipping, LR schedulers, checkpoints.
//! - [`predict`]: inference in tch: checkpoint averaging and flip TTA for the prediction store.
//! - [`sweep`]: threshold sweeps over stored predictions (per-image histograms, O(1) per
//!   configuration). No tch, no timely.
//! - [`config`]: the pipeline file composing the sections of the layers above.
//! - [`dataflow`]: the only module that uses timely: operators, runner, graphs.
//!
//! The `pneumoflow` binary (`src/main.rs`, `src/cli/`) turns flags into calls of this library;
//! clap, indicatif and anyhow live only there.
#![warn(missing_docs)]

pub mod augment;
pub mod canvas;
pub mod config;
pub mod data;
pub mod dataflow;
pub mod host_memory;
pub mod metric;
pub mod model;
pub mod png_io;
pub mod predict;
pub mod submit;
pub mod sweep;
pub mod train;
