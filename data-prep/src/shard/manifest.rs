//! The dataset manifest (`manifest.json`): which shards exist and what every record is.
//! Written last and atomically, so a dataset without a manifest is an unfinished write.

use super::format::{RecordMeta, Split};
use super::ShardError;
use crate::atomic::write_bytes_atomic;
use crate::folds::Fold;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of the manifest inside a shard directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Value of the `format` field.
pub const MANIFEST_FORMAT: &str = "pneumoflow-shards";
/// Current manifest version.
pub const MANIFEST_VERSION: u32 = 1;

/// One shard file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardInfo {
    /// File name relative to the manifest's directory.
    pub file: String,
    pub records: usize,
    /// Size of the file.
    pub bytes: u64,
    /// Sum of uncompressed record payloads.
    pub raw_bytes: u64,
    pub fingerprint: u64,
}

/// One record, and where it lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestRecord {
    pub id: String,
    pub shard: u32,
    pub slot: u32,
    pub split: Split,
    pub label: Option<bool>,
    pub fold: Fold,
    pub height: u32,
    pub width: u32,
    pub orig_height: u32,
    pub orig_width: u32,
    pub n_objects: u16,
}

impl ManifestRecord {
    /// Builds the manifest entry of `meta` stored at (`shard`, `slot`).
    pub fn new(meta: &RecordMeta, shard: u32, slot: u32) -> ManifestRecord {
        ManifestRecord {
            id: meta.id.clone(),
            shard,
            slot,
            split: meta.split,
            label: meta.label,
            fold: meta.fold,
            height: meta.height,
            width: meta.width,
            orig_height: meta.orig_height,
            orig_width: meta.orig_width,
            n_objects: meta.n_objects,
        }
    }

    /// Whether this record agrees with the metadata stored in its shard.
    pub fn matches(&self, meta: &RecordMeta) -> bool {
        *self == ManifestRecord::new(meta, self.shard, self.slot)
    }
}

/// The whole manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Stored image size (square).
    pub size: u32,
    /// Free-form provenance: which command and inputs produced the dataset.
    pub source: serde_json::Value,
    pub shards: Vec<ShardInfo>,
    pub records: Vec<ManifestRecord>,
}

impl Manifest {
    pub fn new(size: u32, source: serde_json::Value) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT.into(),
            version: MANIFEST_VERSION,
            size,
            source,
            shards: Vec::new(),
            records: Vec::new(),
        }
    }

    /// Reads `dir/manifest.json`.
    pub fn load(dir: &Path) -> Result<Manifest, ShardError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read(&path).map_err(|source| ShardError::Io {
            path: path.clone(),
            source,
        })?;
        let m: Manifest = serde_json::from_slice(&text).map_err(|e| ShardError::Manifest {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        if m.format != MANIFEST_FORMAT || m.version != MANIFEST_VERSION {
            return Err(ShardError::Manifest {
                path,
                problem: format!(
                    "format {:?} version {}; this build reads {MANIFEST_FORMAT:?} version {MANIFEST_VERSION}",
                    m.format, m.version
                ),
            });
        }
        Ok(m)
    }

    /// Writes `dir/manifest.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<(), ShardError> {
        let path = dir.join(MANIFEST_FILE);
        let text = serde_json::to_vec_pretty(self).map_err(|e| ShardError::Manifest {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        write_bytes_atomic(&path, &text).map_err(|source| ShardError::Io { path, source })
    }
}
