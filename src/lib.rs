//! pneumoflow: the SIIM-ACR pneumothorax 1st-place solution as a timely dataflow over shards.
//!
//! Layers (dependencies flow downwards only):
//! - `data_prep` (separate crate): RLE, DICOM, shards, folds, synthetic data. No tch, no timely.
//! - [`augment`]: albumentations 0.3.1 transforms, bit-exact with OpenCV. No tch.
//! - [`model`]: the solution's networks in tch.
//! - [`dataflow`]: the only module that uses timely / differential.
//! - [`commands`]: one module per CLI subcommand (anyhow at this edge).

pub mod augment;
pub mod commands;
pub mod dataflow;
pub mod model;
pub mod png_io;
pub mod progress;
