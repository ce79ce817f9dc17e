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
    per_range(base, ranges)
}

/// What determines a prediction set's output.
#[derive(Clone, Copy, Debug)]
pub struct PredictionInputs<'a> {
    /// Content hash of every checkpoint, per group (see [`file_fingerprint`]).
    pub checkpoints: &'a [Vec<u64>],
    /// The checkpoint group of every plan position.
    pub groups: &'a [usize],
    /// The dataset record of every plan position.
    pub records: &'a [usize],
    /// Network input side.
    pub size: u32,
    /// Flip TTA.
    pub tta: bool,
    /// zstd level.
    pub level: i32,
    /// How the maps are stored.
    pub encoding: crate::data::prob_map::MapEncoding,
    /// The source dataset's manifest (its shard fingerprints stand for its content).
    pub input: &'a Manifest,
}

/// Fingerprints of a prediction set's shards: the checkpoints' contents, the groups, records,
/// resolution, TTA, level, encoding, the source shards and the shard's plan range. (A u8 set
/// hashes as it did before f16 existed, so existing stores stay up to date.)
pub fn prediction_fingerprints(inputs: &PredictionInputs<'_>, ranges: &[Range<usize>]) -> Vec<u64> {
    let mut base = Fnv64::default();
    base.field(b"predict-v1")
        .field(&inputs.size.to_le_bytes())
        .field(&[inputs.tta as u8])
        .field(&inputs.level.to_le_bytes());
    if inputs.encoding != crate::data::prob_map::MapEncoding::U8 {
        base.field(inputs.encoding.name().as_bytes());
    }
    for group in inputs.checkpoints {
        base.field(b"group");
        for h in group {
            base.field(&h.to_le_bytes());
        }
    }
    for s in &inputs.input.shards {
        base.field(&s.fingerprint.to_le_bytes());
    }
    ranges
        .iter()
        .map(|r| {
            let mut h = base;
            for j in r.clone() {
                h.field(&(inputs.records[j] as u64).to_le_bytes())
                    .field(&(inputs.groups[j] as u64).to_le_bytes());
            }
            h.0
        })
        .collect()
}

/// What determines a blend's output.
#[derive(Clone, Copy, Debug)]
pub struct BlendInputs<'a> {
    /// Each member's weight and set manifest (its shard fingerprints stand for its content), in
    /// member order.
    pub members: &'a [(f64, &'a Manifest)],
    /// Side of the blended maps.
    pub size: u32,
    /// How the maps are stored.
    pub encoding: crate::data::prob_map::MapEncoding,
    /// zstd level.
    pub level: i32,
}

/// Fingerprints of a blend's shards: the members' weights and shard fingerprints, the size,
/// encoding, level and the shard's plan range.
pub fn blend_fingerprints(inputs: &BlendInputs<'_>, ranges: &[Range<usize>]) -> Vec<u64> {
    let mut base = Fnv64::default();
    base.field(b"blend-v1")
        .field(&inputs.size.to_le_bytes())
        .field(inputs.encoding.name().as_bytes())
        .field(&inputs.level.to_le_bytes());
    for (weight, manifest) in inputs.members {
        base.field(b"member").field(&weight.to_le_bytes());
        for s in &manifest.shards {
            base.field(&s.fingerprint.to_le_bytes());
        }
    }
    per_range(base, ranges)
}

/// `base` extended with each shard's plan range: one fingerprint per shard.
fn per_range(base: Fnv64, ranges: &[Range<usize>]) -> Vec<u64> {
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

/// A content hash of a file (FNV-1a of its bytes, read in 1 MiB blocks).
pub fn file_fingerprint(path: &std::path::Path) -> Result<u64, DataError> {
    use std::io::Read;
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        action: "reading",
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut h = Fnv64::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(h.0);
        }
        h.write(&buf[..n]);
    }
}
