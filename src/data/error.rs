//! Errors of the data layer: one record that could not be produced ([`RecordError`], which
//! crosses dataflow exchanges and so is plain data) and dataset-level failures ([`DataError`]).

use data_prep::ingest::IngestError;
use data_prep::shard::ShardError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The step of a record's processing that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Reading the record from its shard (checksum, decompression).
    Read,
    /// Decoding the source image (DICOM) or its masks (RLE).
    Decode,
    /// Augmenting the image and mask.
    Augment,
    /// Predicting the record's probability map (the network's forward pass).
    Predict,
    /// Compressing the output record.
    Encode,
    /// Writing the output shard.
    Write,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Read => "read",
            Stage::Decode => "decode",
            Stage::Augment => "augment",
            Stage::Predict => "predict",
            Stage::Encode => "compress",
            Stage::Write => "write",
        })
    }
}

/// Where a record came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordOrigin {
    /// A record of a shard dataset.
    Shard {
        /// The shard file.
        path: PathBuf,
        /// The record's slot in that shard.
        slot: usize,
        /// The record id.
        id: String,
    },
    /// A source file (a DICOM image during prep).
    File {
        /// The file.
        path: PathBuf,
        /// The image id.
        id: String,
    },
}

impl RecordOrigin {
    /// The record or image id.
    pub fn id(&self) -> &str {
        match self {
            RecordOrigin::Shard { id, .. } | RecordOrigin::File { id, .. } => id,
        }
    }

    /// The file the record came from.
    pub fn path(&self) -> &Path {
        match self {
            RecordOrigin::Shard { path, .. } | RecordOrigin::File { path, .. } => path,
        }
    }
}

impl fmt::Display for RecordOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordOrigin::Shard { path, slot, id } => {
                write!(f, "{}: record {slot} ({id})", path.display())
            }
            RecordOrigin::File { path, id } => write!(f, "{} (image {id})", path.display()),
        }
    }
}

/// One record that could not be produced: where it came from, which step failed and why.
///
/// It is plain data (serde), so it travels through dataflow exchanges to the worker that reports
/// it; the cause is kept as its message, without repeating the location.
#[derive(Clone, Debug, Error, PartialEq, Eq, Serialize, Deserialize)]
#[error("{origin}: {stage} failed: {problem}")]
pub struct RecordError {
    /// Where the record came from.
    pub origin: RecordOrigin,
    /// The step that failed.
    pub stage: Stage,
    /// What went wrong (the cause's message, location removed).
    pub problem: String,
}

impl RecordError {
    /// A failure of `stage` for the record at `origin`, caused by `cause`.
    pub fn new(origin: RecordOrigin, stage: Stage, cause: &dyn fmt::Display) -> RecordError {
        let problem = strip_location(&cause.to_string(), &origin);
        RecordError {
            origin,
            stage,
            problem,
        }
    }
}

/// Removes the `path: ` and `record N (id): ` prefixes a cause may already carry.
fn strip_location(message: &str, origin: &RecordOrigin) -> String {
    let path = format!("{}: ", origin.path().display());
    let mut rest = message.strip_prefix(&path).unwrap_or(message);
    if let RecordOrigin::Shard { slot, id, .. } = origin {
        let record = format!("record {slot} ({id}): ");
        rest = rest.strip_prefix(&record).unwrap_or(rest);
    }
    let image = format!("image {}: ", origin.id());
    rest.strip_prefix(&image).unwrap_or(rest).to_string()
}

/// Dataset-level failures of the data layer.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// A shard dataset could not be opened or written.
    #[error(transparent)]
    Shard(#[from] ShardError),
    /// Ingestion inputs could not be read.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// A file or directory of an output dataset could not be handled.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done (`creating`, `removing stale manifest`, ...).
        action: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Some records could not be produced; completed shards were kept.
    #[error("{} record(s) could not be produced from the inputs (listed above); completed shards are kept: fix those inputs and re-run to finish", .errors.len())]
    Records {
        /// Every failed record, in output order.
        errors: Vec<RecordError>,
    },
    /// Shards could not be written: an output problem (disk full, permissions), not an input
    /// problem. Completed shards are kept.
    #[error("could not write {shards} shard(s) holding {records} record(s); first: {path}: {problem}; nothing is wrong with the inputs: fix the output (space, permissions) and re-run to finish")]
    Output {
        /// Shards not written.
        shards: usize,
        /// Records in them.
        records: usize,
        /// The first shard file that failed.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// The output directory holds something other than a pneumoflow dataset.
    #[error("{dir} is not a pneumoflow dataset: {found}; choose an empty or new directory, or pass --force to write into it anyway")]
    NotADataset {
        /// The output directory.
        dir: PathBuf,
        /// What was found.
        found: String,
    },
    /// Another run holds the dataset's lock.
    #[error("{dir} is being written by another pneumoflow run ({holder}); wait for it to finish or stop it")]
    Locked {
        /// The dataset directory.
        dir: PathBuf,
        /// Who holds the lock, as it recorded itself.
        holder: String,
    },
    /// A request the dataset cannot serve.
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_error_names_the_location_once() {
        let origin = RecordOrigin::Shard {
            path: "d/shard-00001.pfs".into(),
            slot: 4,
            id: "abc".into(),
        };
        let cause = "d/shard-00001.pfs: record 4 (abc): checksum mismatch (stored 1, computed 2)";
        let e = RecordError::new(origin, Stage::Read, &cause);
        assert_eq!(
            e.to_string(),
            "d/shard-00001.pfs: record 4 (abc): read failed: checksum mismatch (stored 1, computed 2)"
        );
        let file = RecordOrigin::File {
            path: "x/a.dcm".into(),
            id: "a".into(),
        };
        let e = RecordError::new(file, Stage::Decode, &"x/a.dcm: unsupported transfer syntax");
        assert_eq!(
            e.to_string(),
            "x/a.dcm (image a): decode failed: unsupported transfer syntax"
        );
    }
}
