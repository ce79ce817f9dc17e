//! [`Dataset`]: a shard dataset with an optional augmentation pipeline; `sample(index, epoch)`
//! reads, decodes and augments one record with the generator `sample_rng(seed, epoch, id)`.
//!
//! A dataflow operator, a preview and a test all call the same function, so a sample depends
//! only on (dataset, pipeline, seed, epoch, index), never on which worker produced it.

use super::error::{DataError, RecordError, RecordOrigin, Stage};
use crate::augment::{all_zero, sample_rng, Applied, ImageU8, Pipeline};
use data_prep::shard::{Decoder, ManifestRecord, Record, RecordMeta, ShardSet};
use std::path::Path;

/// One record, decoded (and augmented when the dataset has a pipeline).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// The record's metadata; `height`/`width` are the sample's (after any Resize).
    pub meta: RecordMeta,
    /// The image.
    pub image: ImageU8,
    /// The 0/255 mask (`None` for test records).
    pub mask: Option<ImageU8>,
}

impl Sample {
    /// The sample as a shard [`Record`] (the form the dataset writer compresses).
    pub fn into_record(self) -> Record {
        Record {
            meta: self.meta,
            image: self.image.into_vec(),
            mask: self.mask.map(ImageU8::into_vec),
        }
    }
}

/// A shard dataset opened for sampling.
pub struct Dataset {
    set: ShardSet,
    pipeline: Option<Pipeline>,
    seed: u64,
}

impl Dataset {
    /// Opens the shard dataset in `dir` (manifest and shards checked), without augmentation;
    /// a dataset of 2-byte pixels (an f16 prediction set) is refused.
    pub fn open(dir: &Path) -> Result<Dataset, DataError> {
        let set = ShardSet::open(dir)?;
        if set.pixel_bytes() != 1 {
            return Err(DataError::Invalid(format!(
                "{}: holds {}-byte pixels (an f16 prediction set), not 8-bit images",
                dir.display(),
                set.pixel_bytes()
            )));
        }
        Ok(Dataset::new(set))
    }

    /// A dataset over an open shard set, without augmentation.
    pub fn new(set: ShardSet) -> Dataset {
        Dataset {
            set,
            pipeline: None,
            seed: 0,
        }
    }

    /// Augments every sample with `pipeline`, drawing from `sample_rng(seed, epoch, id)`.
    pub fn with_augment(mut self, pipeline: Pipeline, seed: u64) -> Dataset {
        self.pipeline = Some(pipeline);
        self.seed = seed;
        self
    }

    /// The shards.
    pub fn shards(&self) -> &ShardSet {
        &self.set
    }

    /// The augmentation pipeline, if any.
    pub fn pipeline(&self) -> Option<&Pipeline> {
        self.pipeline.as_ref()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether the dataset has no records.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Manifest entry of record `index`.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn record(&self, index: usize) -> &ManifestRecord {
        self.set.record(index)
    }

    /// Where record `index` lives, for error messages.
    pub fn origin(&self, index: usize) -> RecordOrigin {
        let r = self.set.record(index);
        RecordOrigin::Shard {
            path: self.set.shards()[r.shard as usize].path().to_path_buf(),
            slot: r.slot as usize,
            id: r.id.clone(),
        }
    }

    /// Reads record `index` (checksum verified), without augmentation.
    pub fn read(&self, index: usize, decoder: &mut Decoder) -> Result<Sample, RecordError> {
        let rec = self
            .set
            .read(index, decoder)
            .map_err(|e| RecordError::new(self.origin(index), Stage::Read, &e))?;
        let (w, h) = (rec.meta.width as usize, rec.meta.height as usize);
        let image = ImageU8::from_vec(w, h, rec.image)
            .map_err(|e| RecordError::new(self.origin(index), Stage::Read, &e))?;
        let mask = rec
            .mask
            .map(|m| ImageU8::from_vec(w, h, m))
            .transpose()
            .map_err(|e| RecordError::new(self.origin(index), Stage::Read, &e))?;
        Ok(Sample {
            meta: rec.meta,
            image,
            mask,
        })
    }

    /// Reads record `index` and augments it with the generator `sample_rng(seed, epoch, id)`
    /// (just reads it when the dataset has no pipeline).
    pub fn sample(
        &self,
        index: usize,
        epoch: u64,
        decoder: &mut Decoder,
    ) -> Result<Sample, RecordError> {
        let mut sample = self.read(index, decoder)?;
        self.augment(index, epoch, &mut sample)?;
        Ok(sample)
    }

    /// Augments `sample` (record `index`, as [`Dataset::read`] returned it) in place with the
    /// generator `sample_rng(seed, epoch, id)`; leaves it as is when there is no pipeline.
    /// `read` then `augment` equals `sample`, so a record read once can give several epochs.
    pub fn augment(
        &self,
        index: usize,
        epoch: u64,
        sample: &mut Sample,
    ) -> Result<(), RecordError> {
        if let Some(pipeline) = &self.pipeline {
            let mut rng = sample_rng(self.seed, epoch, &sample.meta.id);
            pipeline
                .apply(&mut sample.image, sample.mask.as_mut(), &mut rng)
                .map_err(|e| RecordError::new(self.origin(index), Stage::Augment, &e))?;
            sample.meta.height = sample.image.height() as u32;
            sample.meta.width = sample.image.width() as u32;
        }
        Ok(())
    }

    /// The leaf transforms that [`Dataset::augment`] runs on record `index` at `epoch`, with their
    /// parameters, from the same generator and without reading the record (see
    /// [`Pipeline::plan`]); empty when the dataset has no pipeline.
    pub fn plan(&self, index: usize, epoch: u64) -> Vec<Applied> {
        match &self.pipeline {
            Some(pipeline) => {
                pipeline.plan(&mut sample_rng(self.seed, epoch, &self.record(index).id))
            }
            None => Vec::new(),
        }
    }

    /// The stored size of the samples: the pipeline's fixed output size, else the dataset's.
    pub fn sample_size(&self) -> u32 {
        self.pipeline
            .as_ref()
            .and_then(Pipeline::fixed_output_size)
            .map(|(w, _)| w as u32)
            .unwrap_or(self.set.manifest().size)
    }
}

/// A record read once for all its copies in a bulk re-augmentation. When the pipeline keeps
/// blank masks blank ([`Pipeline::keeps_blank_masks`]) a blank mask (every negative record's) is
/// dropped here and each copy's record carries the writer's shorthand for an all-zero mask (an
/// empty vector, see [`Record::mask`]) instead of a transformed clone: the same bytes without
/// cloning, zeroing and re-checking a zero mask per copy (a clone copies the image, and the mask
/// only when it is not blank).
#[derive(Clone, Debug)]
pub(crate) struct CopySource {
    sample: Sample,
    blank_mask: bool,
}

impl Dataset {
    /// Reads record `index` once for its copies (see [`CopySource`]).
    pub(crate) fn copy_source(
        &self,
        index: usize,
        decoder: &mut Decoder,
    ) -> Result<CopySource, RecordError> {
        let mut sample = self.read(index, decoder)?;
        let blank_mask = self
            .pipeline
            .as_ref()
            .is_some_and(Pipeline::keeps_blank_masks)
            && sample.mask.as_ref().is_some_and(|m| all_zero(m.data()));
        if blank_mask {
            sample.mask = None;
        }
        Ok(CopySource { sample, blank_mask })
    }

    /// Copy `k` of record `index` from its `source`, without reading the record again: once
    /// written, the same as [`augmented_copy`]. A blank mask comes as the writer's shorthand
    /// (an empty vector), so the record is for the shard writer only (hence crate-private).
    pub(crate) fn augment_copy(
        &self,
        index: usize,
        k: usize,
        source: CopySource,
    ) -> Result<Record, RecordError> {
        let CopySource {
            mut sample,
            blank_mask,
        } = source;
        self.augment(index, k as u64, &mut sample)?;
        sample.meta.id = copy_id(&sample.meta.id, k);
        let mut record = sample.into_record();
        if blank_mask {
            // the writer's shorthand for an all-zero mask of the record's size
            record.mask = Some(Vec::new());
        }
        Ok(record)
    }
}

/// The id of augmented copy `k` of record `id` in a bulk re-augmentation (`ID#k`).
pub fn copy_id(id: &str, k: usize) -> String {
    format!("{id}#{k}")
}

/// Copy `k` of record `index` for a bulk re-augmentation: the sample of epoch `k`, stored as
/// `ID#k` with its label, fold and object count.
pub fn augmented_copy(
    dataset: &Dataset,
    index: usize,
    k: usize,
    decoder: &mut Decoder,
) -> Result<Record, RecordError> {
    let mut sample = dataset.sample(index, k as u64, decoder)?;
    sample.meta.id = copy_id(&sample.meta.id, k);
    Ok(sample.into_record())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::AugmentConfig;
    use crate::data::writer::manifest_from_shards;
    use data_prep::folds::Fold;
    use data_prep::shard::{encode_record, shard_file_name, write_shard, Split};

    /// A one-record dataset whose image is its mask: a bright off-centre rectangle.
    fn rectangle_dataset(dir: &Path) -> ShardSet {
        let (w, h) = (96usize, 96usize);
        let mask: Vec<u8> = (0..w * h)
            .map(|p| {
                let (x, y) = (p % w, p / w);
                if (20..50).contains(&x) && (15..35).contains(&y) {
                    255
                } else {
                    0
                }
            })
            .collect();
        let rec = Record {
            meta: RecordMeta {
                id: "rect".into(),
                split: Split::Train,
                height: h as u32,
                width: w as u32,
                orig_height: h as u32,
                orig_width: w as u32,
                label: Some(true),
                fold: Fold::Index(0),
                n_objects: 1,
            },
            image: mask.clone(),
            mask: Some(mask),
        };
        std::fs::create_dir_all(dir).unwrap();
        let enc = vec![encode_record(&rec, 1).unwrap()];
        write_shard(&dir.join(shard_file_name(0)), &enc, 0).unwrap();
        manifest_from_shards(dir, 96, &[shard_file_name(0)], serde_json::json!({}))
            .unwrap()
            .save(dir)
            .unwrap();
        ShardSet::open(dir).unwrap()
    }

    #[test]
    fn augmented_mask_stays_aligned_with_its_image() {
        let tmp = tempfile::tempdir().unwrap();
        let pipeline = AugmentConfig::from_toml_str(
            r#"
[[transforms]]
type = "HorizontalFlip"
p = 0.5
[[transforms]]
type = "OneOf"
p = 1.0
[[transforms.transforms]]
type = "GridDistortion"
[[transforms.transforms]]
type = "OpticalDistortion"
distort_limit = 2
[[transforms.transforms]]
type = "ElasticTransform"
alpha = 40
sigma = 6.0
alpha_affine = 2.0
[[transforms]]
type = "ShiftScaleRotate"
p = 1.0
"#,
            "test",
        )
        .unwrap()
        .build()
        .unwrap();
        let dataset = Dataset::new(rectangle_dataset(tmp.path())).with_augment(pipeline, 9);
        let mut decoder = Decoder::new();
        let mut moved = 0;
        for epoch in 0..12 {
            let s = dataset.sample(0, epoch, &mut decoder).unwrap();
            let mask = s.mask.as_ref().unwrap();
            let (mut both, mut either) = (0usize, 0usize);
            for (&i, &m) in s.image.data().iter().zip(mask.data()) {
                let (a, b) = (i > 127, m > 127);
                both += usize::from(a && b);
                either += usize::from(a || b);
            }
            // Bilinear image vs nearest mask differ only along the edges.
            let iou = both as f64 / either.max(1) as f64;
            assert!(iou > 0.9, "epoch {epoch}: IoU {iou:.3}");
            moved +=
                usize::from(s.image.data() != dataset.read(0, &mut decoder).unwrap().image.data());
        }
        assert!(
            moved >= 10,
            "the transforms must actually move the rectangle"
        );
    }
}
