//! Per-image ingestion steps (DICOM → target-size image; RLE rows → merged mask; → [`Record`]) and
//! shard planning (assignment and fingerprints). The dataflow in the main crate calls these.

use crate::dicom::{read_gray_u8, DicomError};
use crate::resize::{resize_bilinear, resize_nearest, ResizeError};
use crate::rle;
use crate::shard::format::Fnv64;
use crate::shard::format::{Record, RecordMeta, Split, VERSION};
use crate::siim::{PrepItem, RleRow};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Errors while ingesting one image.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The image's DICOM could not be read.
    #[error(transparent)]
    Dicom(#[from] DicomError),
    /// One of the image's RLE rows could not be decoded.
    #[error("{csv}:{line}: image {id} ({height}x{width}): {source}")]
    Rle {
        /// The RLE CSV the row came from.
        csv: PathBuf,
        /// 1-based line of the row in the CSV.
        line: u64,
        /// Image id.
        id: String,
        /// Original image height, in pixels, the RLE was decoded against.
        height: usize,
        /// Original image width, in pixels, the RLE was decoded against.
        width: usize,
        /// The RLE decoding error.
        source: rle::RleError,
    },
    /// The image or its mask could not be resized to the target size (e.g. a target size of 0).
    #[error("image {id}: {source}")]
    Resize {
        /// Image id.
        id: String,
        /// The resize error, with the sizes.
        source: ResizeError,
    },
    /// An image has more distinct RLE objects than a record can count.
    #[error("{csv}: image {id} has {count} distinct RLE rows; at most {} objects per image are supported", u16::MAX)]
    Objects {
        /// The RLE CSV.
        csv: PathBuf,
        /// Image id.
        id: String,
        /// Number of distinct non-empty rows.
        count: usize,
    },
    /// A file's metadata could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}

/// A decoded DICOM, already at the target size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedImage {
    /// Image id.
    pub id: String,
    /// `size * size` 8-bit gray pixels, row-major.
    pub image: Vec<u8>,
    /// Side of the resized square image, in pixels.
    pub size: u32,
    /// Height of the DICOM image before resizing, in pixels.
    pub orig_height: u32,
    /// Width of the DICOM image before resizing, in pixels.
    pub orig_width: u32,
}

/// Reads the DICOM of `item` and resizes it to `size`×`size` (bilinear, see [`crate::resize`]).
pub fn decode_image(item: &PrepItem, size: u32) -> Result<DecodedImage, IngestError> {
    let (img, _info) = read_gray_u8(&item.path)?;
    let s = size as usize;
    let image = resize_bilinear(&img.pixels, img.height, img.width, s, s).map_err(|source| {
        IngestError::Resize {
            id: item.id.clone(),
            source,
        }
    })?;
    Ok(DecodedImage {
        id: item.id.clone(),
        image,
        size,
        orig_height: img.height as u32,
        orig_width: img.width as u32,
    })
}

/// Merges an image's RLE rows at its original size, then resizes the mask (nearest) to the target.
/// Returns the 0/255 mask and the number of objects: distinct non-empty rows (a row repeated with
/// the same runs is one object).
pub fn decode_mask(
    csv: &Path,
    id: &str,
    rows: &[RleRow],
    orig_height: usize,
    orig_width: usize,
    size: usize,
) -> Result<(Vec<u8>, u16), IngestError> {
    let resize_err = |source| IngestError::Resize {
        id: id.to_string(),
        source,
    };
    let n = orig_height.checked_mul(orig_width).ok_or_else(|| {
        resize_err(ResizeError {
            ih: orig_height,
            iw: orig_width,
            oh: size,
            ow: size,
            problem: "the source size overflows".into(),
        })
    })?;
    let mut mask = vec![0u8; n];
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        if rle::is_empty_rle(&row.rle) || !seen.insert(rle::canonical(&row.rle)) {
            continue;
        }
        rle::decode_into(&row.rle, orig_height, orig_width, 255, &mut mask).map_err(|source| {
            IngestError::Rle {
                csv: csv.to_path_buf(),
                line: row.line,
                id: id.to_string(),
                height: orig_height,
                width: orig_width,
                source,
            }
        })?;
    }
    let objects = u16::try_from(seen.len()).map_err(|_| IngestError::Objects {
        csv: csv.to_path_buf(),
        id: id.to_string(),
        count: seen.len(),
    })?;
    let mask = resize_nearest(&mask, orig_height, orig_width, size, size).map_err(resize_err)?;
    Ok((mask, objects))
}

/// Joins a decoded image with its item's masks into a shard [`Record`].
pub fn build_record(
    item: &PrepItem,
    decoded: DecodedImage,
    csv: &Path,
) -> Result<Record, IngestError> {
    let s = decoded.size as usize;
    let (mask, n_objects) = match item.split {
        Split::Test => (None, 0),
        Split::Train => {
            let (m, n) = decode_mask(
                csv,
                &item.id,
                &item.rle_rows,
                decoded.orig_height as usize,
                decoded.orig_width as usize,
                s,
            )?;
            (Some(m), n)
        }
    };
    let meta = RecordMeta {
        id: item.id.clone(),
        split: item.split,
        height: decoded.size,
        width: decoded.size,
        orig_height: decoded.orig_height,
        orig_width: decoded.orig_width,
        label: item.label(),
        fold: item.fold,
        n_objects,
    };
    Ok(Record {
        meta,
        image: decoded.image,
        mask,
    })
}

/// Splits `n` items into consecutive shards of at most `per_shard` records.
///
/// # Panics
/// If `per_shard` is 0 (the CLI accepts 1 and more).
pub fn shard_ranges(n: usize, per_shard: usize) -> Vec<std::ops::Range<usize>> {
    assert!(per_shard > 0, "records per shard must be positive");
    (0..n.div_ceil(per_shard))
        .map(|k| k * per_shard..((k + 1) * per_shard).min(n))
        .collect()
}

/// Fingerprint of a shard's inputs and settings: format version, size, zstd level, and per item its
/// id, split, fold, RLE rows, and the DICOM's path, length and modification time. An existing shard
/// with the same fingerprint is reused when prep is re-run.
pub fn shard_fingerprint(items: &[PrepItem], size: u32, level: i32) -> Result<u64, IngestError> {
    let mut h = Fnv64::default();
    h.field(&VERSION.to_le_bytes())
        .field(&size.to_le_bytes())
        .field(&level.to_le_bytes());
    for it in items {
        let md = std::fs::metadata(&it.path).map_err(|source| IngestError::Io {
            path: it.path.clone(),
            source,
        })?;
        let mtime = md
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        h.field(it.id.as_bytes())
            .field(&[it.split as u8])
            .field(it.fold.label().as_bytes())
            .field(it.path.to_string_lossy().as_bytes())
            .field(&md.len().to_le_bytes())
            .field(&mtime.to_le_bytes());
        for r in &it.rle_rows {
            h.field(r.rle.as_bytes());
        }
    }
    Ok(h.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ranges_cover_everything_once() {
        assert_eq!(shard_ranges(5, 2), vec![0..2, 2..4, 4..5]);
        assert_eq!(shard_ranges(4, 2), vec![0..2, 2..4]);
        assert!(shard_ranges(0, 3).is_empty());
    }

    #[test]
    fn masks_merge_resize_and_count_objects() {
        let rows = vec![
            RleRow {
                line: 2,
                rle: "0 2".into(),
            },
            RleRow {
                line: 3,
                rle: "-1".into(),
            },
            RleRow {
                line: 4,
                rle: "5 2".into(),
            },
        ];
        let (m, n) = decode_mask(Path::new("t.csv"), "x", &rows, 4, 4, 4).unwrap();
        assert_eq!(n, 2);
        assert_eq!(m.iter().filter(|&&v| v == 255).count(), 4);
        let bad = vec![RleRow {
            line: 9,
            rle: "10 10".into(),
        }];
        let err = decode_mask(Path::new("t.csv"), "x", &bad, 4, 4, 4)
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.csv:9") && err.contains("image x"), "{err}");
    }

    #[test]
    fn repeated_rows_are_one_object_and_zero_sizes_are_errors() {
        let row = |line, rle: &str| RleRow {
            line,
            rle: rle.into(),
        };
        let rows = vec![row(2, "0 2"), row(3, " 0  2"), row(4, "-1"), row(5, "5 2")];
        let (m, n) = decode_mask(Path::new("t.csv"), "x", &rows, 4, 4, 4).unwrap();
        assert_eq!(n, 2, "the repeated row counts once");
        assert_eq!(m.iter().filter(|&&v| v == 255).count(), 4);
        let err = decode_mask(Path::new("t.csv"), "x", &rows, 4, 4, 0)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "image x: cannot resize 4x4 to 0x0: every side must be at least 1 pixel"
        );
        assert!(decode_mask(Path::new("t.csv"), "x", &rows, usize::MAX, 2, 4).is_err());
    }
}
