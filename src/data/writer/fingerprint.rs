//! Fingerprints of output shards: a hash of every input and setting that determines a shard's
//! bytes. A re-run keeps an existing shard whose fingerprint matches and rewrites the others.

use crate::data::error::DataError;
use data_prep::ingest::shard_fingerprint;
use data_prep::shard::format::Fnv64;
use data_prep::shard::Manifest;
use data_prep::siim::PrepItem;
use std::ops::Range;

/// Fingerprints of prep's shards: per shard, the format version, size, zstd level, and per item
/// its id, split, fold, RLE rows and the DICOM's path, length and modification time.
pub fn prep_fingerprints(
    items: &[PrepItem],
    ranges: &[Range<usize>],
    size: u32,
    level: i32,
) -> Result<Vec<u64>, DataError> {
    ranges
        .iter()
        .map(|r| shard_fingerprint(&items[r.clone()], size, level).map_err(DataError::from))
        .collect()
}

/// What determines a bulk re-augmentation's output.
#[derive(Clone, Copy, Debug)]
pub struct AugmentInputs<'a> {
    /// The transforms file's bytes.
    pub transforms: &'a [u8],
    /// Generator seed.
    pub seed: u64,
    /// Copies per record.
    pub copies: u64,
    /// zstd level.
    pub level: i32,
    /// The input dataset's manifest (its shard fingerprints stand for its content).
    pub input: &'a Manifest,
}

/// Fingerprints of a bulk re-augmentation's shards: the transforms, seed, copies, level, the
/// input shards' fingerprints and the shard's plan range.
pub fn augment_fingerprints(inputs: &AugmentInputs<'_>, ranges: &[Range<usize>]) -> Vec<u64> {
    let mut base = Fnv64::default();
    base.field(b"augment-v1")
        .field(inputs.transforms)
        .field(&inputs.seed.to_le_bytes())
        .field(&inputs.copies.to_le_bytes())
        .field(&inputs.level.to_le_bytes());
    for s in &inputs.input.shards {
        base.field(&s.fingerprint.to_le_bytes());
    }
    ranges
        .iter()
        .map(|r| {
            let mut h = base;
            h.field(&(r.start as u64).to_le_bytes())
                .field(&(r.end as u64).to_le_bytes());
            h.0
        })
        .collect()
}
