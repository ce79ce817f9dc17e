//! Memory-mapped zstd shards: the dataset format every pneumoflow stage reads.
//!
//! A dataset is a directory of shard files (`shard-00000.pfs`, see [`mod@format`]) plus a
//! `manifest.json` ([`manifest`]). [`ShardSet`] opens a dataset for random access by record index
//! or id; every record read checks its checksum.

pub mod format;
pub mod manifest;
pub mod reader;
pub mod writer;

pub use format::{MaskKind, Record, RecordMeta, Split};
pub use manifest::{Manifest, ManifestRecord, ShardInfo, MANIFEST_FILE};
pub use reader::{Decoder, ShardFile};
pub use writer::{
    encode_record, write_shard, EncodedRecord, RecordCompressor, ShardSummary, DEFAULT_LEVEL,
};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Shard and manifest errors; each names the file and, where there is one, the record.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ShardError {
    /// A shard or manifest file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A shard's header, index or id table is invalid.
    #[error("{path}: corrupt shard: {problem}")]
    Corrupt {
        /// The shard file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A record's compressed payload does not match the CRC32 in its index entry.
    #[error("{path}: record {slot} ({id}): checksum mismatch (stored {expected:08x}, computed {found:08x})")]
    Checksum {
        /// The shard file.
        path: PathBuf,
        /// Position of the record within the shard.
        slot: usize,
        /// The record's id.
        id: String,
        /// CRC32 stored in the index entry.
        expected: u32,
        /// CRC32 computed from the payload as read.
        found: u32,
    },
    /// A record's payload passed its checksum but could not be decoded to the expected size.
    #[error("{path}: record {slot} ({id}): {problem}")]
    Record {
        /// The shard file.
        path: PathBuf,
        /// Position of the record within the shard.
        slot: usize,
        /// The record's id.
        id: String,
        /// What is wrong.
        problem: String,
    },
    /// The manifest is unreadable, of another format or version, or disagrees with the shards.
    #[error("{path}: bad manifest: {problem}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A record could not be compressed (bad sizes, or a zstd error).
    #[error("record {id}: cannot compress: {message}")]
    Compress {
        /// The record's id (empty when creating the zstd context failed).
        id: String,
        /// What went wrong.
        message: String,
    },
    /// No record in the dataset has this id.
    #[error("no record with id {0:?} in this dataset")]
    UnknownId(String),
}

/// Shard file name for shard number `k`.
pub fn shard_file_name(k: usize) -> String {
    format!("shard-{k:05}.pfs")
}

/// An open dataset: manifest + memory-mapped shards.
pub struct ShardSet {
    dir: PathBuf,
    manifest: Manifest,
    shards: Vec<ShardFile>,
    by_id: HashMap<String, usize>,
}

impl ShardSet {
    /// Opens `dir`, checking that every shard matches the manifest (ids, metadata, fingerprints).
    pub fn open(dir: &Path) -> Result<ShardSet, ShardError> {
        let manifest = Manifest::load(dir)?;
        let manifest_path = dir.join(MANIFEST_FILE);
        let mut shards = Vec::with_capacity(manifest.shards.len());
        for info in &manifest.shards {
            let shard = ShardFile::open(&dir.join(&info.file))?;
            if shard.len() != info.records || shard.fingerprint() != info.fingerprint {
                return Err(ShardError::Manifest {
                    path: manifest_path.clone(),
                    problem: format!(
                        "{} holds {} records (fingerprint {:016x}), the manifest says {} ({:016x})",
                        info.file,
                        shard.len(),
                        shard.fingerprint(),
                        info.records,
                        info.fingerprint
                    ),
                });
            }
            shards.push(shard);
        }
        let mut by_id = HashMap::with_capacity(manifest.records.len());
        for (i, r) in manifest.records.iter().enumerate() {
            let shard = shards
                .get(r.shard as usize)
                .filter(|s| (r.slot as usize) < s.len());
            let ok = shard
                .map(|s| r.matches(&s.meta(r.slot as usize)))
                .unwrap_or(false);
            if !ok {
                return Err(ShardError::Manifest {
                    path: manifest_path.clone(),
                    problem: format!(
                        "record {} ({}) does not match shard {} slot {}",
                        i, r.id, r.shard, r.slot
                    ),
                });
            }
            if by_id.insert(r.id.clone(), i).is_some() {
                return Err(ShardError::Manifest {
                    path: manifest_path.clone(),
                    problem: format!("duplicate id {}", r.id),
                });
            }
        }
        Ok(ShardSet {
            dir: dir.to_path_buf(),
            manifest,
            shards,
            by_id,
        })
    }

    /// The dataset directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The dataset's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The open shards, in manifest order.
    pub fn shards(&self) -> &[ShardFile] {
        &self.shards
    }

    /// Number of records in the dataset.
    pub fn len(&self) -> usize {
        self.manifest.records.len()
    }

    /// True when the dataset has no records.
    pub fn is_empty(&self) -> bool {
        self.manifest.records.is_empty()
    }

    /// Manifest entry of record `index`.
    pub fn record(&self, index: usize) -> &ManifestRecord {
        &self.manifest.records[index]
    }

    /// Index of the record with `id`.
    pub fn position(&self, id: &str) -> Result<usize, ShardError> {
        self.by_id
            .get(id)
            .copied()
            .ok_or_else(|| ShardError::UnknownId(id.to_string()))
    }

    /// Reads record `index` (checksum verified).
    pub fn read(&self, index: usize, dec: &mut Decoder) -> Result<Record, ShardError> {
        let r = &self.manifest.records[index];
        self.shards[r.shard as usize].read(r.slot as usize, dec)
    }

    /// Reads record `index` into reusable buffers; returns whether it has a mask.
    pub fn read_into(
        &self,
        index: usize,
        dec: &mut Decoder,
        image: &mut Vec<u8>,
        mask: &mut Vec<u8>,
    ) -> Result<bool, ShardError> {
        let r = &self.manifest.records[index];
        self.shards[r.shard as usize].read_into(r.slot as usize, dec, image, mask)
    }
}

#[cfg(test)]
mod tests;
