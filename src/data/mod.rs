//! The data layer: the per-record work of every job as plain functions and types (no timely,
//! no tch), which a dataflow operator, a preview or a test call alike.
//!
//! - [`dataset`]: [`Dataset`] over shards, `sample(index, epoch)` = read + decode + augment with
//!   `sample_rng(seed, epoch, id)`; bulk re-augmentation copies.
//! - [`prep`]: one SIIM image (DICOM + RLE rows) into a record.
//! - [`writer`]: the resumable dataset writer (fingerprints, output plan, shard tasks and
//!   outcomes, manifest last, folds.csv).
//! - [`batch`]: [`HostBatch`], N samples of one size as u8 planes, for the device.
//! - [`buffer_pool`]: buffers reused from batch to batch (u8 batch planes, float32 network
//!   inputs).
//! - [`sampler`]: the sliding sample rate: every positive plus `int(n_pos(1-p)/p)` negatives
//!   drawn with replacement per epoch, deterministic per (seed, fold, part, epoch).
//! - [`predictions`]: the prediction store (probability maps as shard datasets).
//! - [`blend`]: weighted blends of experiments' prediction sets (`[blend]`).
//! - [`prob_map`]: how maps are stored (u8 quantised or f16) and thresholds as integer cutoffs.
//! - [`error`]: [`RecordError`] (shard, record, id, stage) and [`DataError`].

pub mod batch;
pub mod blend;
pub mod buffer_pool;
pub mod dataset;
pub mod error;
pub mod predictions;
pub mod prep;
pub mod prob_map;
pub mod sampler;
pub mod writer;

pub use batch::{BatchSizeError, HostBatch, InputBatch, InputTables};
pub use buffer_pool::{BufferPool, PooledBuffer};
pub use dataset::{augmented_copy, copy_id, Dataset, Sample};
pub use error::{DataError, RecordError, RecordOrigin, Stage};
pub use sampler::{Sampler, SamplerError};
