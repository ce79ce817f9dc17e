//! The synthetic SIIM dataset: chest-radiograph-like images with pneumothorax-like objects, and
//! a writer of the challenge's on-disk layout (DICOM trees and `train-rle.csv`).
//!
//! - [`generate_case`]: one case (image, object masks, SIIM-style ids), a pure function of
//!   `(seed, split, index, size)`; about 22% of cases are positive.
//! - [`write_dataset`]: the SIIM layout on disk, atomically and reproducibly.
//! - [`dicom_writer`]: `write_dicom_u8`, also used to make DICOM fixtures (uncompressed explicit
//!   or implicit VR, JPEG baseline; MONOCHROME1/2; 8 or 12 bits stored).
//! - [`global_threshold_baseline`]: the best single intensity threshold's Dice, the yardstick
//!   that shows the data is not solved by thresholding.

mod baseline;
mod case;
mod dataset;
pub mod dicom_writer;
mod error;
mod filter;
mod ids;
mod outline;
mod params;
mod ptx;
mod render;
mod rng;
mod vessels;

pub use baseline::{global_threshold_baseline, ThresholdBaseline};
pub use case::{
    generate_case, is_positive_index, Split, SynthCase, POSITIVES_PER_BLOCK, POSITIVE_BLOCK,
};
pub use dataset::{
    case_path, prepare_output, train_csv_text, write_case, write_dataset, write_train_csv,
    SynthOptions, SynthSummary, WrittenCase, TRAIN_RLE_HEADER,
};
pub use error::SynthError;
pub use ids::CaseIds;
