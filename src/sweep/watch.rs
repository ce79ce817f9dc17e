//! Following a prediction store for `pneumoflow sweep --watch`: which complete sets it holds
//! (subdirectories with a `manifest.json`; the shard writer saves the manifest last and
//! atomically, so a set without one is still being written), a fingerprint of each manifest,
//! and what changed between two scans.

use super::SweepError;
use data_prep::shard::MANIFEST_FILE;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A complete set seen in a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenSet {
    /// Its directory.
    pub dir: PathBuf,
    /// FNV-1a 64 of its manifest's bytes (the manifest lists every shard's fingerprint, so a
    /// rewritten set has another).
    pub fingerprint: u64,
}

/// What changed between two scans, each list in name order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreChanges {
    /// Sets that appeared.
    pub added: Vec<String>,
    /// Sets that disappeared.
    pub removed: Vec<String>,
    /// Sets whose manifest changed (retract the old, insert the new).
    pub changed: Vec<String>,
}

impl StoreChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// FNV-1a 64 of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The complete sets of the store `path` by name. A store without sets is empty, not an error;
/// a store that cannot be listed is. A manifest that vanishes between the listing and its read
/// (a set being deleted) is left out.
pub fn scan_store(path: &Path) -> Result<BTreeMap<String, SeenSet>, SweepError> {
    let io = |source| SweepError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut sets = BTreeMap::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let dir = entry.map_err(io)?.path();
        let Ok(bytes) = std::fs::read(dir.join(MANIFEST_FILE)) else {
            continue;
        };
        let Some(name) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let fingerprint = fnv1a(&bytes);
        sets.insert(name, SeenSet { dir, fingerprint });
    }
    Ok(sets)
}

/// The changes from scan `old` to scan `new`.
pub fn changes(old: &BTreeMap<String, SeenSet>, new: &BTreeMap<String, SeenSet>) -> StoreChanges {
    let mut out = StoreChanges::default();
    for (name, seen) in new {
        match old.get(name) {
            None => out.added.push(name.clone()),
            Some(before) if before != seen => out.changed.push(name.clone()),
            Some(_) => {}
        }
    }
    out.removed = old
        .keys()
        .filter(|n| !new.contains_key(*n))
        .cloned()
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_complete_sets_and_diffs_them() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        assert!(scan_store(&root.join("missing")).is_err());
        assert!(scan_store(root).unwrap().is_empty());
        for name in ["a", "b", "partial"] {
            std::fs::create_dir_all(root.join(name)).unwrap();
        }
        std::fs::write(root.join("a").join(MANIFEST_FILE), "{\"a\":1}").unwrap();
        std::fs::write(root.join("b").join(MANIFEST_FILE), "{\"b\":1}").unwrap();
        std::fs::write(root.join("sweep.csv"), "x").unwrap();
        let first = scan_store(root).unwrap();
        assert_eq!(first.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(first["a"].fingerprint, fnv1a(b"{\"a\":1}"));
        let none = changes(&first, &first);
        assert!(none.is_empty());
        std::fs::write(root.join("b").join(MANIFEST_FILE), "{\"b\":2}").unwrap();
        std::fs::write(root.join("partial").join(MANIFEST_FILE), "{}").unwrap();
        std::fs::remove_dir_all(root.join("a")).unwrap();
        let second = scan_store(root).unwrap();
        let c = changes(&first, &second);
        assert_eq!(c.added, ["partial"]);
        assert_eq!(c.removed, ["a"]);
        assert_eq!(c.changed, ["b"]);
        assert!(!c.is_empty());
    }
}
