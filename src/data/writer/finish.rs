//! Finishing an output dataset: every shard task must have been written; then the manifest is
//! built from the shard files themselves and written atomically, last. Also the dataset's
//! `folds.csv`.

use super::plan::OutputPlan;
use super::task::ShardOutcome;
use crate::data::error::DataError;
use data_prep::atomic::write_bytes_atomic;
use data_prep::folds::folds_csv_string;
use data_prep::shard::{Manifest, ManifestRecord, ShardFile, ShardInfo, ShardSet, Split};
use std::path::{Path, PathBuf};

impl OutputPlan {
    /// Checks that every task was written, then writes the manifest (built from the shard files,
    /// so it always agrees with them), removes the shard files it no longer references, and
    /// opens the finished dataset. Record failures (bad inputs) are [`DataError::Records`];
    /// shards that could not be written (an output problem: disk full, permissions) are
    /// [`DataError::Output`]. Either way the manifest found before, if any, is left in place.
    pub fn finish(
        &self,
        outcomes: &[ShardOutcome],
        size: u32,
        source: serde_json::Value,
    ) -> Result<ShardSet, DataError> {
        let mut record_errors = Vec::new();
        let mut output_errors: Vec<(PathBuf, String, usize)> = Vec::new();
        for task in &self.tasks {
            match outcomes.iter().find(|o| o.number() == task.number) {
                Some(ShardOutcome::Written { .. }) => {}
                Some(ShardOutcome::RecordsFailed { errors, .. }) => {
                    record_errors.extend(errors.iter().cloned())
                }
                Some(ShardOutcome::OutputFailed { path, problem, .. }) => {
                    output_errors.push((path.clone(), problem.clone(), task.items.len()))
                }
                None => output_errors.push((
                    task.path.clone(),
                    "no worker reported this shard (the job ended early)".into(),
                    task.items.len(),
                )),
            }
        }
        if !record_errors.is_empty() {
            return Err(DataError::Records {
                errors: record_errors,
            });
        }
        if let Some((path, problem, _)) = output_errors.first() {
            return Err(DataError::Output {
                shards: output_errors.len(),
                records: output_errors.iter().map(|e| e.2).sum(),
                path: path.clone(),
                problem: problem.clone(),
            });
        }
        let manifest = manifest_from_shards(&self.dir, size, &self.files, source)?;
        manifest.save(&self.dir)?;
        self.remove_unreferenced_shards()?;
        Ok(ShardSet::open(&self.dir)?)
    }
}

/// Builds the manifest of `dir` from its shard files `files` (shard `k` is `files[k]`).
pub fn manifest_from_shards(
    dir: &Path,
    size: u32,
    files: &[String],
    source: serde_json::Value,
) -> Result<Manifest, DataError> {
    let mut m = Manifest::new(size, source);
    for (k, file) in files.iter().enumerate() {
        let shard = ShardFile::open(&dir.join(file))?;
        for slot in 0..shard.len() {
            m.records.push(ManifestRecord::new(
                &shard.meta(slot),
                k as u32,
                slot as u32,
            ));
        }
        m.shards.push(ShardInfo {
            file: file.clone(),
            records: shard.len(),
            bytes: shard.file_len(),
            raw_bytes: shard.raw_len(),
            fingerprint: shard.fingerprint(),
        });
    }
    Ok(m)
}

/// Writes the dataset's folds in the solution's CSV format (`fname,fold,exist_labels`, train
/// records only) to `<dataset>/folds.csv`, atomically.
pub fn write_folds_csv(set: &ShardSet) -> Result<(), DataError> {
    let rows: Vec<_> = set
        .manifest()
        .records
        .iter()
        .filter(|r| r.split == Split::Train)
        .map(|r| (r.id.clone(), r.fold, r.label == Some(true)))
        .collect();
    let path = set.dir().join(super::plan::FOLDS_FILE);
    write_bytes_atomic(&path, folds_csv_string(&rows).as_bytes()).map_err(|source| DataError::Io {
        path,
        action: "writing",
        source,
    })
}
