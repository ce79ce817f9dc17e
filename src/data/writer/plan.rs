//! Output planning: which shards of an output dataset must be (re)written and under which file
//! names, checked before anything is written.
//!
//! Shard `k` lives in one of two slots, `shard-NNNNN.pfs` or `shard-NNNNN.b.pfs`. A fresh dataset
//! uses the first. A re-run over a complete dataset writes every shard it must replace into the
//! slot the current manifest does not reference, so the old dataset stays readable, shard for
//! shard, until the new manifest replaces it; the files it no longer references are removed
//! after that ([`OutputPlan::finish`]).

use crate::data::error::DataError;
use data_prep::atomic::remove_stale_temps;
use data_prep::shard::{shard_file_name, Manifest, ShardFile, ShardSet, MANIFEST_FILE};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The lock file every writer holds while it writes a dataset (see [`super::DatasetLock`]).
pub const LOCK_FILE: &str = ".pneumoflow.lock";

/// The dataset's folds file (prep writes it).
pub const FOLDS_FILE: &str = "folds.csv";

/// One shard to (re)write: its number, file, plan range and fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardTask {
    /// Shard number.
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
    /// File name of every shard of the new dataset, by shard number.
    pub files: Vec<String>,
    /// Fingerprint of every shard of the new dataset, by shard number.
    pub fingerprints: Vec<u64>,
    /// The complete dataset found in the directory when planning, if any.
    current: Option<Manifest>,
}

/// The two file names shard `k` may have.
pub fn shard_slots(k: usize) -> [String; 2] {
    let a = shard_file_name(k);
    let b = format!("{}.b.pfs", a.trim_end_matches(".pfs"));
    [a, b]
}

/// Whether `name` is a shard file name of ours (either slot), and its number.
pub fn shard_number(name: &str) -> Option<usize> {
    let stem = name.strip_prefix("shard-")?.strip_suffix(".pfs")?;
    let stem = stem.strip_suffix(".b").unwrap_or(stem);
    (stem.len() >= 5 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

/// Plans writing the shards `ranges` (with their `fingerprints`) into `dir`, without touching
/// it: an existing shard (in either slot) is kept when its fingerprint and record count match.
///
/// `dir` must be absent, empty, or a pneumoflow dataset (complete or interrupted); anything else
/// is refused naming the first foreign entry, unless `force`.
///
/// # Panics
/// If `ranges` and `fingerprints` differ in length.
pub fn plan_output(
    dir: &Path,
    ranges: &[Range<usize>],
    fingerprints: &[u64],
    force: bool,
) -> Result<OutputPlan, DataError> {
    assert_eq!(
        ranges.len(),
        fingerprints.len(),
        "one fingerprint per shard"
    );
    if !force {
        check_output_dir(dir)?;
    }
    let current = ShardSet::open(dir).ok().map(|s| s.manifest().clone());
    let referenced = |name: &str| {
        current
            .as_ref()
            .is_some_and(|m| m.shards.iter().any(|s| s.file == name))
    };
    let mut tasks = Vec::new();
    let mut files = Vec::with_capacity(ranges.len());
    let mut kept = 0;
    for (k, (range, &fingerprint)) in ranges.iter().zip(fingerprints).enumerate() {
        let slots = shard_slots(k);
        let reusable = slots.iter().find(|name| {
            ShardFile::open(&dir.join(name))
                .map(|s| s.fingerprint() == fingerprint && s.len() == range.len())
                .unwrap_or(false)
        });
        if let Some(name) = reusable {
            kept += 1;
            files.push(name.clone());
            continue;
        }
        let name = if referenced(&slots[0]) {
            slots[1].clone()
        } else {
            slots[0].clone()
        };
        tasks.push(ShardTask {
            number: k,
            path: dir.join(&name),
            items: range.clone(),
            fingerprint,
        });
        files.push(name);
    }
    Ok(OutputPlan {
        dir: dir.to_path_buf(),
        tasks,
        kept,
        n_shards: ranges.len(),
        files,
        fingerprints: fingerprints.to_vec(),
        current,
    })
}

/// Refuses a directory that holds anything but a pneumoflow dataset.
fn check_output_dir(dir: &Path) -> Result<(), DataError> {
    let io = |source| DataError::Io {
        path: dir.to_path_buf(),
        action: "listing",
        source,
    };
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(DataError::NotADataset {
            dir: dir.to_path_buf(),
            found: "it is a file, not a directory".into(),
        });
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let ours = match name.as_str() {
            MANIFEST_FILE => Manifest::load(dir).is_ok(),
            FOLDS_FILE => std::fs::read(&path)
                .map(|b| b.starts_with(b"fname,fold,exist_labels"))
                .unwrap_or(false),
            LOCK_FILE => path.is_file(),
            n if n.starts_with('.') && n.contains(".tmp-") => path.is_file(),
            n => shard_number(n).is_some() && ShardFile::open(&path).is_ok(),
        };
        if !ours {
            return Err(DataError::NotADataset {
                dir: dir.to_path_buf(),
                found: format!("it holds `{name}`, which pneumoflow did not write"),
            });
        }
    }
    Ok(())
}

impl OutputPlan {
    /// Whether the dataset is complete and current: nothing to write, and the manifest found
    /// lists exactly the planned shard files with their fingerprints.
    pub fn is_up_to_date(&self) -> bool {
        self.tasks.is_empty()
            && self.current.as_ref().is_some_and(|m| {
                m.shards.len() == self.n_shards
                    && m.shards
                        .iter()
                        .zip(self.files.iter().zip(&self.fingerprints))
                        .all(|(s, (f, &fp))| s.file == *f && s.fingerprint == fp)
            })
    }

    /// Every plan position of the shards to write, in order.
    pub fn positions(&self) -> Vec<usize> {
        self.tasks.iter().flat_map(|t| t.items.clone()).collect()
    }

    /// Records of the shards to write.
    pub fn records_to_write(&self) -> usize {
        self.tasks.iter().map(|t| t.items.len()).sum()
    }

    /// Prepares the directory (run by one process only, holding the dataset lock, before any
    /// shard is written): creates it and removes temp files of interrupted writes. A complete
    /// dataset already there is left readable.
    pub fn prepare(&self) -> Result<(), DataError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| DataError::Io {
            path: self.dir.clone(),
            action: "creating",
            source,
        })?;
        remove_stale_temps(&self.dir).map_err(|source| DataError::Io {
            path: self.dir.clone(),
            action: "removing temp files in",
            source,
        })?;
        Ok(())
    }

    /// Removes the shard files of ours that the new manifest does not reference (the other
    /// slot, and numbers beyond the plan). Only valid pneumoflow shard files are removed.
    pub(super) fn remove_unreferenced_shards(&self) -> Result<(), DataError> {
        let listing = |source| DataError::Io {
            path: self.dir.clone(),
            action: "listing",
            source,
        };
        for entry in std::fs::read_dir(&self.dir).map_err(listing)? {
            let entry = entry.map_err(listing)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if shard_number(&name).is_none() || self.files.contains(&name) {
                continue;
            }
            let path = entry.path();
            if ShardFile::open(&path).is_ok() {
                std::fs::remove_file(&path).map_err(|source| DataError::Io {
                    path: path.clone(),
                    action: "removing an unreferenced shard",
                    source,
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names_and_slots() {
        assert_eq!(shard_slots(3), ["shard-00003.pfs", "shard-00003.b.pfs"]);
        assert_eq!(shard_number("shard-00003.pfs"), Some(3));
        assert_eq!(shard_number("shard-00003.b.pfs"), Some(3));
        assert_eq!(shard_number("shard-123456.pfs"), Some(123456));
        assert_eq!(shard_number("shard-3.pfs"), None);
        assert_eq!(shard_number("shard-0000x.pfs"), None);
        assert_eq!(shard_number("notes.txt"), None);
    }

    #[test]
    fn foreign_directories_are_refused_before_anything_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("shard-99999.pfs"), b"my own file").unwrap();
        let err = plan_output(&dir, &[0..2, 2..3], &[1, 2], false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("shard-99999.pfs") && err.contains("--force"),
            "{err}"
        );
        std::fs::remove_file(dir.join("shard-99999.pfs")).unwrap();
        std::fs::write(dir.join("manifest.json"), b"{\"mine\": 1}").unwrap();
        let err = plan_output(&dir, &[0..2, 2..3], &[1, 2], false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("manifest.json"), "{err}");
        assert!(plan_output(&dir, &[0..2, 2..3], &[1, 2], true).is_ok());
        assert_eq!(
            std::fs::read(dir.join("manifest.json")).unwrap(),
            b"{\"mine\": 1}"
        );
        let file = tmp.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = plan_output(&file, &[0..2, 2..3], &[1, 2], false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a directory"), "{err}");
    }
}
