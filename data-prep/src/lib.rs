//! pneumoflow data formats: SIIM RLE, DICOM reading, the shard format, folds, and the synthetic
//! SIIM dataset generator. Needs neither tch nor timely.
#![warn(missing_docs)]

pub mod atomic;
pub mod dicom;
pub mod folds;
pub mod ingest;
pub mod resize;
pub mod rle;
pub mod shard;
pub mod siim;
pub mod synth;
#[cfg(test)]
mod test_alloc;
