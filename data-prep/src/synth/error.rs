//! Errors of the synthetic dataset generator and the DICOM writer, each naming the path or value.

use std::path::PathBuf;

use thiserror::Error;

/// Why synthesising or writing the dataset failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SynthError {
    /// An option is out of range.
    #[error("invalid synthetic dataset option {name} = {value}: {reason}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// Its value, as text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`"creating directory"`, `"writing"`, ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The pixel buffer does not match the declared size.
    #[error("image for {path} has {got} pixels, expected {height}x{width} = {}", height * width)]
    PixelCount {
        /// The file that was to be written.
        path: PathBuf,
        /// Pixels supplied.
        got: usize,
        /// Declared rows.
        height: usize,
        /// Declared columns.
        width: usize,
    },
    /// The requested combination of DICOM options cannot be written.
    #[error("cannot write {path}: {reason}")]
    UnsupportedDicom {
        /// The file that was to be written.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// dicom-rs failed to build, encode or serialise the object.
    #[error("DICOM {stage} failed for {path}: {message}")]
    Dicom {
        /// Which step (`"meta table"`, `"JPEG encoding"`, `"serialisation"`).
        stage: &'static str,
        /// The file that was to be written.
        path: PathBuf,
        /// The dicom-rs error, rendered.
        message: String,
    },
    /// The output directory holds DICOM files that this dataset would not write (another seed or
    /// size of dataset): mixing them would corrupt the dataset.
    #[error("{path} is not part of the dataset being written (other options?); remove {out} or choose another output directory")]
    StaleFile {
        /// The foreign file.
        path: PathBuf,
        /// The output directory.
        out: PathBuf,
    },
}
