//! Writing one shard task: its compressed records, in plan order, into one atomic shard file;
//! and [`RecordEncoder`], which compresses a record on the worker that produced it.

use super::plan::ShardTask;
use crate::data::error::{RecordError, RecordOrigin, Stage};
use data_prep::shard::{write_shard, EncodedRecord, Record, RecordCompressor, ShardSummary};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What happened to one shard task. Plain data, so outcomes are gathered across processes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardOutcome {
    /// The shard file was written.
    Written {
        /// Shard number.
        number: usize,
        /// What it holds.
        summary: ShardSummary,
    },
    /// Some records could not be produced; the shard was not written.
    RecordsFailed {
        /// Shard number.
        number: usize,
        /// Every failed record, in plan order.
        errors: Vec<RecordError>,
    },
    /// The records were fine but the shard file could not be written (an output error).
    OutputFailed {
        /// Shard number.
        number: usize,
        /// The shard file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
}

impl ShardOutcome {
    /// The shard number.
    pub fn number(&self) -> usize {
        match self {
            ShardOutcome::Written { number, .. }
            | ShardOutcome::RecordsFailed { number, .. }
            | ShardOutcome::OutputFailed { number, .. } => *number,
        }
    }
}

/// Writes `task`'s shard from its records (all of them, any order): sorted into plan order,
/// written atomically; nothing is written if any record failed.
pub fn write_task(
    task: &ShardTask,
    mut records: Vec<(usize, Result<EncodedRecord, RecordError>)>,
) -> ShardOutcome {
    records.sort_by_key(|(position, _)| *position);
    let mut good = Vec::with_capacity(records.len());
    let mut errors = Vec::new();
    for (_, r) in records {
        match r {
            Ok(e) => good.push(e),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return ShardOutcome::RecordsFailed {
            number: task.number,
            errors,
        };
    }
    match write_shard(&task.path, &good, task.fingerprint) {
        Ok(summary) => ShardOutcome::Written {
            number: task.number,
            summary,
        },
        Err(e) => ShardOutcome::OutputFailed {
            number: task.number,
            path: task.path.clone(),
            problem: match e {
                data_prep::shard::ShardError::Io { source, .. } => source.to_string(),
                other => other.to_string(),
            },
        },
    }
}

/// Compresses records for a shard (one reusable zstd context per worker).
pub struct RecordEncoder {
    compressor: Option<RecordCompressor>,
    level: i32,
}

impl RecordEncoder {
    /// An encoder at zstd `level`.
    pub fn new(level: i32) -> RecordEncoder {
        RecordEncoder {
            compressor: None,
            level,
        }
    }

    /// Compresses `record`; `origin` names its source in an error.
    pub fn encode(
        &mut self,
        record: Result<Record, RecordError>,
        origin: impl Fn() -> RecordOrigin,
    ) -> Result<EncodedRecord, RecordError> {
        let record = record?;
        let compressor = match &mut self.compressor {
            Some(c) => c,
            slot => slot.insert(
                RecordCompressor::new(self.level)
                    .map_err(|e| RecordError::new(origin(), Stage::Encode, &e))?,
            ),
        };
        compressor
            .encode(&record)
            .map_err(|e| RecordError::new(origin(), Stage::Encode, &e))
    }
}
