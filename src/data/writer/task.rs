//! Writing one shard task: its compressed records, appended in plan order as they arrive, into
//! one atomic shard file ([`TaskWriter`]); and [`RecordEncoder`], which compresses a record on
//! the worker that produced it.

use super::plan::ShardTask;
use crate::data::error::{RecordError, RecordOrigin, Stage};
use data_prep::shard::{EncodedRecord, Record, RecordCompressor, ShardStream, ShardSummary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

/// Writes `task`'s shard from its records (all of them, any order): in plan order, atomically;
/// nothing is written if any record failed. One-shot form of [`TaskWriter`].
pub fn write_task(
    task: &ShardTask,
    records: Vec<(usize, Result<EncodedRecord, RecordError>)>,
) -> ShardOutcome {
    let mut writer = TaskWriter::new(task.clone());
    let mut outcome = None;
    for (position, record) in records {
        outcome = writer.push(position, record);
    }
    outcome.expect("every record of the task")
}

/// Writes one shard task as its records arrive, in any order: each record is appended to the
/// shard file ([`ShardStream`]) as soon as every record before it in plan order has been, so a
/// writer holds only records that arrived early, never the whole shard. A failed record stops
/// the file (its temp file is removed) and the task reports every failed record, in plan order,
/// once all have arrived; an I/O error reports the output failure.
pub struct TaskWriter {
    task: ShardTask,
    /// The next plan position to append.
    next: usize,
    /// Records that arrived before their turn.
    early: BTreeMap<usize, EncodedRecord>,
    stream: Option<ShardStream>,
    errors: Vec<(usize, RecordError)>,
    output_error: Option<String>,
    /// Which of the task's positions have arrived.
    arrived: Vec<bool>,
    received: usize,
}

impl TaskWriter {
    /// A writer for `task` (nothing is created until its first record can be appended).
    pub fn new(task: ShardTask) -> TaskWriter {
        TaskWriter {
            next: task.items.start,
            arrived: vec![false; task.items.len()],
            task,
            early: BTreeMap::new(),
            stream: None,
            errors: Vec::new(),
            output_error: None,
            received: 0,
        }
    }

    /// Takes the record at plan `position`; returns the task's outcome with its last record.
    ///
    /// # Panics
    /// If `position` is not one of the task's, or arrives twice (checked whatever happened to
    /// the task before).
    pub fn push(
        &mut self,
        position: usize,
        record: Result<EncodedRecord, RecordError>,
    ) -> Option<ShardOutcome> {
        let slot = position.checked_sub(self.task.items.start);
        let fresh = slot
            .and_then(|k| self.arrived.get_mut(k))
            .map(|a| !std::mem::replace(a, true));
        assert!(
            fresh == Some(true),
            "plan position {position} is not pending in shard task {}",
            self.task.number
        );
        self.received += 1;
        match record {
            Err(e) => {
                self.errors.push((position, e));
                self.stream = None; // removes the temp file
                self.early.clear();
            }
            Ok(mut r) if self.errors.is_empty() && self.output_error.is_none() => {
                if position != self.next {
                    // It waits: keep only its compressed bytes, not the worst-case capacity.
                    r.payload.shrink_to_fit();
                }
                self.early.insert(position, r);
                self.append_ready();
            }
            Ok(_) => {}
        }
        (self.received == self.task.items.len()).then(|| self.outcome())
    }

    /// Appends the records whose turn has come.
    fn append_ready(&mut self) {
        while let Some(r) = self.early.remove(&self.next) {
            let appended = match &mut self.stream {
                Some(s) => s.append(&r),
                slot => {
                    ShardStream::create(&self.task.path).and_then(|s| slot.insert(s).append(&r))
                }
            };
            if let Err(e) = appended {
                self.output_error = Some(io_problem(e));
                self.stream = None;
                self.early.clear();
                return;
            }
            self.next += 1;
        }
    }

    fn outcome(&mut self) -> ShardOutcome {
        let number = self.task.number;
        if !self.errors.is_empty() {
            let mut errors = std::mem::take(&mut self.errors);
            errors.sort_by_key(|(position, _)| *position);
            return ShardOutcome::RecordsFailed {
                number,
                errors: errors.into_iter().map(|(_, e)| e).collect(),
            };
        }
        let finished = match (self.output_error.take(), self.stream.take()) {
            (Some(problem), _) => Err(problem),
            (None, Some(stream)) => stream.finish(self.task.fingerprint).map_err(io_problem),
            (None, None) => Err("no record reached the shard writer".into()),
        };
        match finished {
            Ok(summary) => ShardOutcome::Written { number, summary },
            Err(problem) => ShardOutcome::OutputFailed {
                number,
                path: self.task.path.clone(),
                problem,
            },
        }
    }
}

/// The message of a shard write error (the I/O error itself; the outcome names the file).
fn io_problem(e: data_prep::shard::ShardError) -> String {
    match e {
        data_prep::shard::ShardError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use data_prep::folds::Fold;
    use data_prep::shard::{encode_record, RecordMeta, Split};

    fn encoded(k: usize) -> EncodedRecord {
        let meta = RecordMeta {
            id: format!("r{k}"),
            split: Split::Test,
            height: 4,
            width: 4,
            orig_height: 4,
            orig_width: 4,
            label: None,
            fold: Fold::Unassigned,
            n_objects: 0,
        };
        let image = (0..16).map(|i| (i * 11 + k * 7) as u8).collect();
        encode_record(
            &Record {
                meta,
                image,
                mask: None,
            },
            1,
        )
        .unwrap()
    }

    fn failure(k: usize) -> RecordError {
        RecordError::new(
            RecordOrigin::File {
                path: "in.dcm".into(),
                id: format!("r{k}"),
            },
            Stage::Decode,
            &"bad",
        )
    }

    #[test]
    fn records_in_any_order_write_the_bytes_of_plan_order() {
        let dir = tempfile::tempdir().unwrap();
        let task = |number: usize| ShardTask {
            number,
            path: dir.path().join(format!("s{number}.pfs")),
            items: 10..15,
            fingerprint: 9,
        };
        let in_order: Vec<_> = (10..15).map(|p| (p, Ok(encoded(p)))).collect();
        assert!(matches!(
            write_task(&task(0), in_order),
            ShardOutcome::Written { number: 0, .. }
        ));
        let mut writer = TaskWriter::new(task(1));
        for p in [13, 11, 10, 14] {
            assert_eq!(writer.push(p, Ok(encoded(p))), None);
        }
        assert!(writer.early.contains_key(&13), "13 waits for 12");
        let outcome = writer.push(12, Ok(encoded(12))).unwrap();
        assert!(matches!(outcome, ShardOutcome::Written { number: 1, .. }));
        assert_eq!(
            std::fs::read(dir.path().join("s0.pfs")).unwrap(),
            std::fs::read(dir.path().join("s1.pfs")).unwrap()
        );
    }

    #[test]
    #[should_panic(expected = "plan position 1 is not pending")]
    fn a_position_arriving_twice_is_a_bug_even_after_a_failure() {
        let task = ShardTask {
            number: 0,
            path: std::env::temp_dir().join("pneumoflow-never-written.pfs"),
            items: 0..3,
            fingerprint: 0,
        };
        let mut writer = TaskWriter::new(task);
        assert_eq!(writer.push(0, Err(failure(0))), None);
        assert_eq!(writer.push(1, Ok(encoded(1))), None);
        writer.push(1, Ok(encoded(1)));
    }

    #[test]
    fn failed_records_leave_no_file_and_are_reported_in_plan_order() {
        let dir = tempfile::tempdir().unwrap();
        let task = ShardTask {
            number: 3,
            path: dir.path().join("s.pfs"),
            items: 0..4,
            fingerprint: 0,
        };
        let mut writer = TaskWriter::new(task);
        assert_eq!(writer.push(0, Ok(encoded(0))), None);
        assert_eq!(writer.push(3, Err(failure(3))), None);
        assert_eq!(writer.push(1, Err(failure(1))), None);
        match writer.push(2, Ok(encoded(2))).unwrap() {
            ShardOutcome::RecordsFailed { number, errors } => {
                assert_eq!(number, 3);
                let ids: Vec<&str> = errors.iter().map(|e| e.origin.id()).collect();
                assert_eq!(ids, ["r1", "r3"]);
            }
            other => panic!("{other:?}"),
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
