//! Memory-mapped zstd shards: the dataset format every pneumoflow stage reads.
//!
//! A dataset is a directory of shard files (`shard-00000.pfs`, see [`mod@format`]) plus a
//! `manifest.json` ([`manifest`]). [`ShardSet`] opens a dataset for random access by record index
//! or id; every record read checks its checksum.
//!
//! The manifest is not trusted over the shards: [`ShardSet::open`] checks that it agrees with
//! every shard's own header and index (see there), so what `inspect` prints from the manifest is
//! what the shards hold.

pub mod format;
pub mod manifest;
pub mod reader;
pub mod writer;

pub use format::{MaskKind, Record, RecordMeta, Split};
pub use manifest::{Manifest, ManifestRecord, ShardInfo, MANIFEST_FILE};
pub use reader::{Decoder, ShardFile};
pub use writer::{
    encode_record, write_shard, EncodedRecord, RecordCompressor, ShardStream, ShardSummary,
    DEFAULT_LEVEL,
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
    /// A shard listed in the manifest cannot be opened (missing, unreadable or corrupt).
    #[error("{manifest}: shards[{index}]: {source}")]
    Listed {
        /// The manifest file.
        manifest: PathBuf,
        /// Position of the shard in the manifest's `shards`.
        index: usize,
        /// Why the shard cannot be opened; names the shard file.
        source: Box<ShardError>,
    },
    /// A shard has no record at this slot.
    #[error("{path}: no record at slot {slot}; the shard holds {len}")]
    Slot {
        /// The shard file.
        path: PathBuf,
        /// The slot asked for.
        slot: usize,
        /// Number of records in the shard.
        len: usize,
    },
    /// The dataset has no record at this index.
    #[error("no record at index {index}; the dataset holds {len}")]
    Index {
        /// The index asked for.
        index: usize,
        /// Number of records in the dataset.
        len: usize,
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
    pixel_bytes: u8,
}

/// Whether `name` is a plain file name: one normal path component, no separator of any
/// platform, not `.` or `..`, not absolute.
fn is_plain_file_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(_)), None)
    ) && !name.contains(['/', '\\', '\0'])
        && name != "."
        && name != ".."
}

impl ShardSet {
    /// Opens `dir`, checking that the manifest agrees with every shard: shard file names are
    /// plain names inside `dir` (no separators, no `..`, not absolute) and listed once; each
    /// shard's `records`, `bytes`, `raw_bytes` and `fingerprint` equal the shard's own; every
    /// record names an existing shard and slot and matches that slot's metadata (id, split,
    /// label, fold, sizes, objects), with height and width equal to the manifest `size`; every
    /// slot of every shard is listed exactly once; ids are unique; every image has the same
    /// number of bytes per pixel. Errors name the manifest, the shard file and the record.
    pub fn open(dir: &Path) -> Result<ShardSet, ShardError> {
        let manifest = Manifest::load(dir)?;
        let manifest_path = dir.join(MANIFEST_FILE);
        let bad = |problem: String| ShardError::Manifest {
            path: manifest_path.clone(),
            problem,
        };
        let mut shards: Vec<ShardFile> = Vec::with_capacity(manifest.shards.len().min(1 << 16));
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (k, info) in manifest.shards.iter().enumerate() {
            if !is_plain_file_name(&info.file) {
                return Err(bad(format!(
                    "shards[{k}].file {:?} must be a plain file name inside the dataset directory \
                     (no path separators, no \"..\", not absolute)",
                    info.file
                )));
            }
            if let Some(first) = names.insert(&info.file, k) {
                return Err(bad(format!(
                    "shards[{k}].file {:?} is also shards[{first}]; each shard is listed once",
                    info.file
                )));
            }
            let shard = ShardFile::open(&dir.join(&info.file)).map_err(|e| ShardError::Listed {
                manifest: manifest_path.clone(),
                index: k,
                source: Box::new(e),
            })?;
            let found = [
                ("records", info.records as u64, shard.len() as u64),
                ("bytes", info.bytes, shard.file_len()),
                ("raw_bytes", info.raw_bytes, shard.raw_len()),
                ("fingerprint", info.fingerprint, shard.fingerprint()),
            ];
            for (field, said, actual) in found {
                if said != actual {
                    let fmt = |v: u64| {
                        if field == "fingerprint" {
                            format!("{v:016x}")
                        } else {
                            v.to_string()
                        }
                    };
                    return Err(bad(format!(
                        "shards[{k}] ({}): {field} is {} in the manifest, but the shard's header and \
                         index say {}",
                        info.file,
                        fmt(said),
                        fmt(actual)
                    )));
                }
            }
            shards.push(shard);
        }
        // Which record lists each slot of each shard.
        let mut listed: Vec<Vec<Option<usize>>> =
            shards.iter().map(|s| vec![None; s.len()]).collect();
        let mut by_id = HashMap::with_capacity(manifest.records.len().min(1 << 20));
        let mut pixel_bytes: Option<(u8, usize)> = None;
        for (i, r) in manifest.records.iter().enumerate() {
            let record = |problem: String| bad(format!("record {i} ({}): {problem}", r.id));
            let Some(shard) = shards.get(r.shard as usize) else {
                return Err(record(format!(
                    "names shard {}, but the manifest lists {} shards",
                    r.shard,
                    shards.len()
                )));
            };
            let file = &manifest.shards[r.shard as usize].file;
            let Some(slot) = listed[r.shard as usize].get_mut(r.slot as usize) else {
                return Err(record(format!(
                    "names slot {} of {file}, which holds {} records",
                    r.slot,
                    shard.len()
                )));
            };
            if let Some(first) = slot.replace(i) {
                return Err(record(format!(
                    "{file} slot {} is also listed by record {first} ({})",
                    r.slot, manifest.records[first].id
                )));
            }
            let meta = shard.meta(r.slot as usize);
            if !r.matches(&meta) {
                return Err(record(format!(
                    "does not match {file} slot {}: the manifest says {}, the shard says {}",
                    r.slot,
                    describe(r),
                    describe(&ManifestRecord::new(&meta, r.shard, r.slot))
                )));
            }
            if r.height != manifest.size || r.width != manifest.size {
                return Err(record(format!(
                    "{file} slot {} is {}x{} (height x width), but the manifest size is {}",
                    r.slot, r.height, r.width, manifest.size
                )));
            }
            if let Some(first) = by_id.insert(r.id.clone(), i) {
                return Err(record(format!("duplicate id (also record {first})")));
            }
            let bytes = shard.pixel_bytes(r.slot as usize);
            match pixel_bytes {
                None => pixel_bytes = Some((bytes, i)),
                Some((b, first)) if b != bytes => {
                    return Err(record(format!(
                        "{file} slot {} has {bytes}-byte pixels, but record {first} has {b}-byte \
                         pixels; a dataset holds one kind",
                        r.slot
                    )))
                }
                Some(_) => {}
            }
        }
        for (k, slots) in listed.iter().enumerate() {
            if let Some(slot) = slots.iter().position(Option::is_none) {
                let missing = slots.iter().filter(|s| s.is_none()).count();
                return Err(bad(format!(
                    "{} slot {slot} ({}) is not listed in the manifest ({missing} unlisted slot(s) in \
                     that shard)",
                    manifest.shards[k].file,
                    shards[k].id(slot)
                )));
            }
        }
        Ok(ShardSet {
            dir: dir.to_path_buf(),
            manifest,
            shards,
            by_id,
            pixel_bytes: pixel_bytes.map_or(1, |(b, _)| b),
        })
    }

    /// Bytes per image pixel of every record: 1 for gray images, 2 for f16 maps.
    pub fn pixel_bytes(&self) -> u8 {
        self.pixel_bytes
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
    ///
    /// # Panics
    /// If `index >= self.len()`.
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

    /// The manifest entry of record `index`, or [`ShardError::Index`].
    fn entry(&self, index: usize) -> Result<&ManifestRecord, ShardError> {
        self.manifest.records.get(index).ok_or(ShardError::Index {
            index,
            len: self.len(),
        })
    }

    /// Reads record `index` (checksum verified).
    pub fn read(&self, index: usize, dec: &mut Decoder) -> Result<Record, ShardError> {
        let r = self.entry(index)?;
        // Checked on open: every record names an existing shard and slot.
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
        let r = self.entry(index)?;
        self.shards[r.shard as usize].read_into(r.slot as usize, dec, image, mask)
    }
}

/// A record's metadata in a few words, for mismatch messages.
fn describe(r: &ManifestRecord) -> String {
    format!(
        "id {} {} label {} fold {} {}x{} (original {}x{}) {} object(s)",
        r.id,
        match r.split {
            Split::Train => "train",
            Split::Test => "test",
        },
        r.label
            .map(|l| if l { "positive" } else { "negative" })
            .unwrap_or("none"),
        r.fold,
        r.height,
        r.width,
        r.orig_height,
        r.orig_width,
        r.n_objects
    )
}

#[cfg(test)]
mod tests;
