//! [`HostBatch`]: N samples of one size as contiguous u8 planes (images, masks), in a fixed
//! order, ready to be normalised into a network tensor on the device that trains.
//!
//! It is plain bytes (serde), so batches cross dataflow exchanges; tensors never do.
//! [`InputBatch`] is a host batch with its network input already computed on the worker that
//! assembled it: float32 `[N, 3, H, W]` through a per-channel 256-entry table (the network's
//! input normalisation, exact: every value depends on one byte only) and `[N, 1, H, W]` targets
//! in {0, 1}; the device then only copies it into a tensor.

use super::buffer_pool::{BufferPool, PooledBuffer};
use super::dataset::Sample;
use data_prep::shard::RecordMeta;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A sample that does not fit the batch.
#[derive(Clone, Debug, Error, PartialEq, Eq, Serialize, Deserialize)]
#[error("sample {id} is {width}x{height}, the batch holds {batch_width}x{batch_height} samples")]
pub struct BatchSizeError {
    /// The sample's id.
    pub id: String,
    /// The sample's width.
    pub width: usize,
    /// The sample's height.
    pub height: usize,
    /// The batch's width.
    pub batch_width: usize,
    /// The batch's height.
    pub batch_height: usize,
}

/// Samples of one size, stored plane after plane.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostBatch {
    width: usize,
    height: usize,
    /// Per sample: its metadata (id, label, fold, ...).
    metas: Vec<RecordMeta>,
    /// Per sample: its position in the source order (sampler position, plan position).
    positions: Vec<usize>,
    /// `len * height * width` image bytes.
    images: PooledBuffer<u8>,
    /// `len * height * width` mask bytes (0/255; zeros for samples without a mask).
    masks: PooledBuffer<u8>,
    /// Per sample: whether it has a mask (test records do not).
    has_mask: Vec<bool>,
}

impl HostBatch {
    /// An empty batch of `width` x `height` samples with room for `capacity` of them.
    pub fn new(width: usize, height: usize, capacity: usize) -> HostBatch {
        HostBatch::new_in(width, height, capacity, &BufferPool::new(0))
    }

    /// [`HostBatch::new`] with its planes in buffers of `pool`, which they return to when the
    /// batch is dropped.
    pub fn new_in(
        width: usize,
        height: usize,
        capacity: usize,
        pool: &BufferPool<u8>,
    ) -> HostBatch {
        let n = width * height;
        HostBatch {
            width,
            height,
            metas: Vec::with_capacity(capacity),
            positions: Vec::with_capacity(capacity),
            images: pool.empty(capacity * n),
            masks: pool.empty(capacity * n),
            has_mask: Vec::with_capacity(capacity),
        }
    }

    /// Appends `sample` (at source position `position`).
    pub fn push(&mut self, position: usize, sample: &Sample) -> Result<(), BatchSizeError> {
        let (w, h) = (sample.image.width(), sample.image.height());
        if (w, h) != (self.width, self.height) {
            return Err(BatchSizeError {
                id: sample.meta.id.clone(),
                width: w,
                height: h,
                batch_width: self.width,
                batch_height: self.height,
            });
        }
        self.images.extend_from_slice(sample.image.data());
        match &sample.mask {
            Some(m) => self.masks.extend_from_slice(m.data()),
            None => self.masks.extend_with(w * h, 0),
        }
        self.has_mask.push(sample.mask.is_some());
        self.metas.push(sample.meta.clone());
        self.positions.push(position);
        Ok(())
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// (width, height) of every sample.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Metadata of every sample, in batch order.
    pub fn metas(&self) -> &[RecordMeta] {
        &self.metas
    }

    /// Source positions of every sample, in batch order.
    pub fn positions(&self) -> &[usize] {
        &self.positions
    }

    /// All image bytes (`len * height * width`, sample after sample).
    pub fn images(&self) -> &[u8] {
        &self.images
    }

    /// All mask bytes (0/255, zeros where a sample has no mask).
    pub fn masks(&self) -> &[u8] {
        &self.masks
    }

    /// Image `i`'s bytes.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.width * self.height;
        &self.images[i * n..(i + 1) * n]
    }

    /// Mask `i`'s bytes, `None` when sample `i` has no mask.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn mask(&self, i: usize) -> Option<&[u8]> {
        let n = self.width * self.height;
        self.has_mask[i].then(|| &self.masks[i * n..(i + 1) * n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::ImageU8;
    use data_prep::folds::Fold;
    use data_prep::shard::Split;

    fn sample(id: &str, w: usize, h: usize, v: u8, mask: bool) -> Sample {
        Sample {
            meta: RecordMeta {
                id: id.into(),
                split: if mask { Split::Train } else { Split::Test },
                height: h as u32,
                width: w as u32,
                orig_height: h as u32,
                orig_width: w as u32,
                label: mask.then_some(true),
                fold: Fold::Unassigned,
                n_objects: u16::from(mask),
            },
            image: ImageU8::from_fn(w, h, |_, _| v),
            mask: mask.then(|| ImageU8::from_fn(w, h, |x, _| if x == 0 { 255 } else { 0 })),
        }
    }

    #[test]
    fn batch_keeps_planes_in_push_order_and_refuses_other_sizes() {
        let mut b = HostBatch::new(3, 2, 2);
        b.push(7, &sample("a", 3, 2, 10, true)).unwrap();
        b.push(3, &sample("b", 3, 2, 20, false)).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.positions(), &[7, 3]);
        assert_eq!(b.image(1), &[20; 6]);
        assert_eq!(b.mask(0), Some(&[255, 0, 0, 255, 0, 0][..]));
        assert_eq!(b.mask(1), None);
        assert_eq!(b.masks().len(), 12);
        let err = b.push(9, &sample("c", 2, 2, 0, true)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sample c is 2x2, the batch holds 3x2 samples"
        );
    }
}

/// Per-channel lookup tables `byte -> float32` of a network's input normalisation.
pub type InputTables = [[f32; 256]; 3];

/// A host batch with its network input: see the module doc.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InputBatch {
    /// The samples (metadata, u8 planes).
    pub host: HostBatch,
    /// `N * 3 * H * W` float32, CHW per sample.
    pub images: PooledBuffer,
    /// `N * H * W` float32 targets: mask / 255.
    pub targets: PooledBuffer,
}

impl InputBatch {
    /// The network input of `host` through `tables` (channel `c` of every pixel is
    /// `tables[c][byte]`), in buffers of no pool.
    pub fn new(host: HostBatch, tables: &InputTables) -> InputBatch {
        InputBatch::new_in(host, tables, &BufferPool::new(0))
    }

    /// [`InputBatch::new`] in buffers of `pool`, which they return to when the batch is dropped.
    pub fn new_in(host: HostBatch, tables: &InputTables, pool: &BufferPool) -> InputBatch {
        let plane = host.width * host.height;
        let images = pool.filled(host.len() * 3 * plane, |out| {
            for src in host.images.chunks_exact(plane.max(1)) {
                for t in tables {
                    out.extend(src.iter().map(|&b| t[b as usize]));
                }
            }
        });
        let targets = pool.filled(host.masks.len(), |out| {
            out.extend(host.masks.iter().map(|&m| m as f32 / 255.0))
        });
        InputBatch {
            host,
            images,
            targets,
        }
    }
}
