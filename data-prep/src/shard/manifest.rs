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
    /// Number of records in the shard.
    pub records: usize,
    /// Size of the file.
    pub bytes: u64,
    /// Sum of uncompressed record payloads.
    pub raw_bytes: u64,
    /// Fingerprint from the shard's header; must match the file when the dataset is opened.
    pub fingerprint: u64,
}

/// One record, and where it lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestRecord {
    /// Image id.
    pub id: String,
    /// Index of the record's shard in [`Manifest::shards`].
    pub shard: u32,
    /// Position of the record within its shard.
    pub slot: u32,
    /// Train or test.
    pub split: Split,
    /// Pneumothorax present; `None` for test records.
    pub label: Option<bool>,
    /// The record's fold.
    pub fold: Fold,
    /// Stored image height, in pixels.
    pub height: u32,
    /// Stored image width, in pixels.
    pub width: u32,
    /// Height of the source image before resizing, in pixels.
    pub orig_height: u32,
    /// Width of the source image before resizing, in pixels.
    pub orig_width: u32,
    /// Number of RLE rows (objects) of the image; 0 for negatives and test records.
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
    /// Format name; always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Manifest version; [`MANIFEST_VERSION`] for this build.
    pub version: u32,
    /// Stored image size (square).
    pub size: u32,
    /// Free-form provenance: which command and inputs produced the dataset.
    pub source: serde_json::Value,
    /// The shard files, in order; [`ManifestRecord::shard`] indexes this list.
    pub shards: Vec<ShardInfo>,
    /// Every record of the dataset, in dataset order (the record index used by readers).
    pub records: Vec<ManifestRecord>,
}

impl Manifest {
    /// An empty manifest (no shards or records) for images of `size`×`size`.
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
