//! Prediction sets and stores, as the sweep reads them.
//!
//! A **prediction set** (`crate::data::predictions`, written by `pneumoflow predict`) is a shard
//! dataset ([`ShardSet`]) whose manifest `source.kind` is [`PREDICTIONS_KIND`]; each record's
//! image is the probability map (u8 `q` with `p ≈ q / 255`, or f16; see
//! [`crate::data::prob_map`]) and its mask the 0/255 ground truth, so only train-split records
//! (with ground truth) can be swept. A **prediction store** is
//! a directory whose immediate subdirectories holding a `manifest.json` are prediction sets,
//! named by the subdirectory and taken in sorted order.

use super::grid::Plan;
use super::sums::DiceSums;
use super::terms::{ImageTerms, TermScratch};
use super::SweepError;
use crate::data::predictions::{open_prediction_set, prediction_sets, set_encoding, MapEncoding};
use data_prep::folds::Fold;
use data_prep::shard::{Decoder, ShardSet, Split, MANIFEST_FILE};
use std::ops::Range;
use std::path::Path;

pub use crate::data::predictions::PREDICTIONS_KIND;

/// An open prediction set.
pub struct PredictionSet {
    name: String,
    shards: ShardSet,
}

/// Reusable buffers for reading records and computing their terms.
#[derive(Default)]
pub struct Reader {
    decoder: Decoder,
    image: Vec<u8>,
    mask: Vec<u8>,
    scratch: TermScratch,
}

impl Reader {
    /// Empty buffers.
    pub fn new() -> Reader {
        Reader::default()
    }
}

/// Whether `path` is a prediction set (or any shard dataset): it holds a `manifest.json`.
pub fn is_set_dir(path: &Path) -> bool {
    path.join(MANIFEST_FILE).is_file()
}

impl PredictionSet {
    /// Opens the set in `dir` under `name`: the shard dataset must open (its manifest agrees
    /// with its shards), be a prediction set, hold at least one record, and every record must
    /// be a train-split record (with ground truth).
    pub fn open(dir: &Path, name: &str) -> Result<PredictionSet, SweepError> {
        let shards = open_prediction_set(dir)?;
        if shards.is_empty() {
            return Err(SweepError::EmptySet {
                path: dir.to_path_buf(),
            });
        }
        let manifest = shards.manifest();
        if let Some((index, r)) =
            (manifest.records.iter().enumerate()).find(|(_, r)| r.split == Split::Test)
        {
            let tests = manifest
                .records
                .iter()
                .filter(|r| r.split == Split::Test)
                .count();
            return Err(SweepError::NoGroundTruth {
                path: dir.to_path_buf(),
                index,
                id: r.id.clone(),
                tests,
            });
        }
        Ok(PredictionSet {
            name: name.to_string(),
            shards,
        })
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The set's directory.
    pub fn dir(&self) -> &Path {
        self.shards.dir()
    }

    /// Map side.
    pub fn size(&self) -> u32 {
        self.shards.manifest().size
    }

    /// How the maps are stored.
    pub fn encoding(&self) -> MapEncoding {
        set_encoding(&self.shards)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.shards.len()
    }

    /// Whether the set has no records (never true for an opened set).
    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    /// The underlying shard dataset.
    pub fn shards(&self) -> &ShardSet {
        &self.shards
    }

    /// The fold of record `index`.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn fold(&self, index: usize) -> Fold {
        self.shards.record(index).fold
    }

    /// Reads record `index` (checksum verified) and computes its terms under `plan`. Errors
    /// name the set's directory, the record and its id.
    pub fn terms(
        &self,
        index: usize,
        plan: &Plan,
        reader: &mut Reader,
    ) -> Result<ImageTerms, SweepError> {
        let id = || {
            if index < self.len() {
                self.shards.record(index).id.clone()
            } else {
                String::new()
            }
        };
        let failed = |problem: String| SweepError::Record {
            path: self.dir().to_path_buf(),
            index,
            id: id(),
            problem,
        };
        let Reader {
            decoder,
            image,
            mask,
            scratch,
        } = reader;
        let has_mask = self
            .shards
            .read_into(index, decoder, image, mask)
            .map_err(|e| failed(e.to_string()))?;
        if !has_mask {
            return Err(failed(
                "has no ground truth (a test-split record); sweeps need predictions of train records"
                    .into(),
            ));
        }
        ImageTerms::compute(plan, image, mask, scratch).map_err(|e| failed(e.to_string()))
    }

    /// Dice sums per fold over the records `range`, in fold order.
    pub fn sweep_range(
        &self,
        range: Range<usize>,
        plan: &Plan,
        reader: &mut Reader,
    ) -> Result<Vec<(Fold, DiceSums)>, SweepError> {
        let mut out: Vec<(Fold, DiceSums)> = Vec::new();
        for index in range {
            let terms = self.terms(index, plan, reader)?;
            let fold = self.fold(index);
            let k = match out.iter().position(|(f, _)| *f == fold) {
                Some(k) => k,
                None => {
                    out.push((fold, DiceSums::new(plan.len())));
                    out.len() - 1
                }
            };
            out[k].1.add(plan, &terms);
        }
        out.sort_by_key(|(f, _)| *f);
        Ok(out)
    }
}

/// Opens `path`: a prediction set (it holds a `manifest.json`; named by its directory), or a
/// store of them (every immediate subdirectory with a `manifest.json`, in name order).
pub fn open_store(path: &Path) -> Result<Vec<PredictionSet>, SweepError> {
    prediction_sets(path)?
        .iter()
        .map(|(name, dir)| PredictionSet::open(dir, name))
        .collect()
}
