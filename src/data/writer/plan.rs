//! Output planning: which shards of an output dataset must be (re)written, and preparing the
//! directory for them.

use crate::data::error::DataError;
use data_prep::atomic::remove_stale_temps;
use data_prep::shard::{shard_file_name, ShardFile, ShardSet, MANIFEST_FILE};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One shard to (re)write: its number, file, plan range and fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardTask {
    /// Shard number (`shard-NNNNN.pfs`).
    pub number: usize,
    /// The shard file.
    pub path: PathBuf,
    /// The plan positions the shard holds, in order.
    pub items: Range<usize>,
    /// Hash of the inputs and settings that determine the shard's bytes.
    pub fingerprint: u64,
}

/// The shards of an output dataset that still need writing.
#[derive(Clone, Debug)]
pub struct OutputPlan {
    /// The output directory.
    pub dir: PathBuf,
    /// Shards to write.
    pub tasks: Vec<ShardTask>,
    /// Shards already complete and kept.
    pub kept: usize,
    /// Shards of the whole dataset.
    pub n_shards: usize,
}

/// Plans writing the shards `ranges` (with their `fingerprints`) into `dir`, without touching
/// it: an existing shard is kept when its fingerprint and record count match.
///
/// # Panics
/// If `ranges` and `fingerprints` differ in length.
pub fn plan_output(
    dir: &Path,
    ranges: &[Range<usize>],
    fingerprints: &[u64],
) -> Result<OutputPlan, DataError> {
    assert_eq!(
        ranges.len(),
        fingerprints.len(),
        "one fingerprint per shard"
    );
    let mut tasks = Vec::new();
    let mut kept = 0;
    for (k, (range, &fingerprint)) in ranges.iter().zip(fingerprints).enumerate() {
        let path = dir.join(shard_file_name(k));
        let reusable = ShardFile::open(&path)
            .map(|s| s.fingerprint() == fingerprint && s.len() == range.len())
            .unwrap_or(false);
        if reusable {
            kept += 1;
        } else {
            tasks.push(ShardTask {
                number: k,
                path,
                items: range.clone(),
                fingerprint,
            });
        }
    }
    Ok(OutputPlan {
        dir: dir.to_path_buf(),
        tasks,
        kept,
        n_shards: ranges.len(),
    })
}

impl OutputPlan {
    /// Whether the dataset is complete and current: nothing to write and a valid manifest.
    pub fn is_up_to_date(&self) -> bool {
        self.tasks.is_empty() && ShardSet::open(&self.dir).is_ok()
    }

    /// Every plan position of the shards to write, in order.
    pub fn positions(&self) -> Vec<usize> {
        self.tasks.iter().flat_map(|t| t.items.clone()).collect()
    }

    /// Records of the shards to write.
    pub fn records_to_write(&self) -> usize {
        self.tasks.iter().map(|t| t.items.len()).sum()
    }

    /// Prepares the directory (run by one process only, before any shard is written): creates
    /// it, removes temp files of interrupted writes and shards beyond the plan, and removes the
    /// manifest if anything is to be written (a manifest never describes a half-written dataset).
    pub fn prepare(&self) -> Result<(), DataError> {
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| DataError::Io {
                path,
                action,
                source,
            }
        };
        std::fs::create_dir_all(&self.dir).map_err(io("creating", &self.dir))?;
        remove_stale_temps(&self.dir).map_err(io("removing temp files in", &self.dir))?;
        self.remove_extra_shards()?;
        if !self.tasks.is_empty() {
            let m = self.dir.join(MANIFEST_FILE);
            if m.exists() {
                std::fs::remove_file(&m).map_err(io("removing stale manifest", &m))?;
            }
        }
        Ok(())
    }

    /// Deletes `shard-NNNNN.pfs` files numbered `n_shards` and above (left by a larger run).
    fn remove_extra_shards(&self) -> Result<(), DataError> {
        let listing = |source| DataError::Io {
            path: self.dir.clone(),
            action: "listing",
            source,
        };
        for entry in std::fs::read_dir(&self.dir).map_err(listing)? {
            let path = entry.map_err(listing)?.path();
            let name = path
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let number = name
                .strip_prefix("shard-")
                .and_then(|s| s.strip_suffix(".pfs"))
                .and_then(|s| s.parse::<usize>().ok());
            if number.is_some_and(|k| k >= self.n_shards) {
                std::fs::remove_file(&path).map_err(|source| DataError::Io {
                    path: path.clone(),
                    action: "removing extra shard",
                    source,
                })?;
            }
        }
        Ok(())
    }
}
