//! The prediction store: probability maps kept as shard datasets, one directory per prediction
//! set, so they are memory-mapped, zstd-compressed, checksummed, written atomically and
//! resumably by the same writer as the image shards.
//!
//! A **prediction set** is a shard dataset whose records carry the source record's metadata
//! (id, split, fold, label, objects), the encoded probability map in place of the
//! image, and the ground truth in place of the mask (train records; test records have none).
//! Its manifest `source` says `"kind": "pneumoflow-predictions"` and how it was made.
//! A **prediction store** is a directory of sets (`<store>/<name>/manifest.json`).
//!
//! The maps are stored as [`MapEncoding`] says (`u8` by default, or `f16`; see
//! [`crate::data::prob_map`] for the rounding and what a threshold means on each); the manifest's
//! `source.encoding` names it and the shards' pixel size carries it.

use crate::data::dataset::Sample;
use crate::data::error::DataError;
pub use crate::data::prob_map::{quantise, MapEncoding};
use data_prep::shard::{Record, ShardSet, MANIFEST_FILE};
use std::path::{Path, PathBuf};

/// The manifest `source.kind` of a prediction set.
pub const PREDICTIONS_KIND: &str = "pneumoflow-predictions";

/// `cv2.resize(map, (width, height), interpolation=cv2.INTER_LINEAR)` of a float32 map, as
/// OpenCV computes it for `CV_32F`: half-pixel source coordinates clamped to the image, float
/// weights, a horizontal pass per source row, then `b0 · row0 + b1 · row1`.
///
/// # Panics
/// If `map` does not hold `src_w * src_h` values or a size is 0.
pub fn resize_map(
    map: &[f32],
    src_w: usize,
    src_h: usize,
    width: usize,
    height: usize,
) -> Vec<f32> {
    assert!(
        src_w > 0 && src_h > 0 && width > 0 && height > 0,
        "empty map"
    );
    assert_eq!(map.len(), src_w * src_h, "map size");
    if (src_w, src_h) == (width, height) {
        return map.to_vec();
    }
    let axis = |n_src: usize, n_dst: usize| -> Vec<(usize, usize, f32, f32)> {
        let scale = n_src as f64 / n_dst as f64;
        (0..n_dst)
            .map(|d| {
                let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
                let mut s = f.floor() as i64;
                let mut frac = f - s as f32;
                if s < 0 {
                    s = 0;
                    frac = 0.0;
                }
                if s >= n_src as i64 - 1 {
                    s = n_src as i64 - 1;
                    frac = 0.0;
                }
                let s = s as usize;
                (s, (s + 1).min(n_src - 1), 1.0 - frac, frac)
            })
            .collect()
    };
    let xs = axis(src_w, width);
    let ys = axis(src_h, height);
    // The horizontal pass of every source row, then the vertical blend of two of them.
    let rows: Vec<f32> = (0..src_h)
        .flat_map(|r| {
            let row = &map[r * src_w..(r + 1) * src_w];
            xs.iter()
                .map(move |&(a, b, wa, wb)| row[a] * wa + row[b] * wb)
        })
        .collect();
    let mut out = Vec::with_capacity(width * height);
    for &(a, b, wa, wb) in &ys {
        let (r0, r1) = (
            &rows[a * width..(a + 1) * width],
            &rows[b * width..(b + 1) * width],
        );
        out.extend(r0.iter().zip(r1).map(|(&x, &y)| x * wa + y * wb));
    }
    out
}

/// The stored record of a prediction: `source`'s metadata and ground truth (as read from its
/// dataset, at the dataset's size) with the map `probs` (`width x height`, the network's
/// resolution) resized to the record's size and encoded (`encoding`) in place of the image.
///
/// # Panics
/// If `probs` does not hold `width * height` values.
pub fn prediction_record(
    source: Sample,
    probs: &[f32],
    width: usize,
    height: usize,
    encoding: MapEncoding,
) -> Record {
    let (w, h) = (source.image.width(), source.image.height());
    let map = resize_map(probs, width, height, w, h);
    let image = encoding.encode(&map);
    let mut meta = source.meta;
    meta.width = w as u32;
    meta.height = h as u32;
    Record {
        meta,
        image,
        mask: source.mask.map(|m| m.into_vec()),
    }
}

/// Checks the settings every writer of prediction sets shares: a map side (`size`) within
/// 8..=8192 and a zstd `level` within -7..=19; `Err((key, problem))`.
pub fn check_set_settings(size: Option<u32>, level: i32) -> Result<(), (String, String)> {
    if let Some(s) = size {
        if !(8..=8192).contains(&s) {
            return Err(("size".into(), format!("{s}: must be within 8..=8192")));
        }
    }
    if !(-7..=19).contains(&level) {
        return Err(("level".into(), format!("{level}: zstd levels are -7..=19")));
    }
    Ok(())
}

/// The encoding of the maps of an open prediction set (from its shards' pixel size).
pub fn set_encoding(set: &ShardSet) -> MapEncoding {
    // open_prediction_set accepts only 1- and 2-byte pixels
    MapEncoding::from_pixel_bytes(set.pixel_bytes()).unwrap_or_default()
}

/// Opens the prediction set in `dir`, refusing a dataset that is not one (its manifest's
/// `source.kind`) or whose pixel size is not a map encoding's.
pub fn open_prediction_set(dir: &Path) -> Result<ShardSet, DataError> {
    let set = ShardSet::open(dir)?;
    if MapEncoding::from_pixel_bytes(set.pixel_bytes()).is_none() {
        return Err(DataError::Invalid(format!(
            "{}: {}-byte pixels are not a map encoding (u8 or f16)",
            dir.display(),
            set.pixel_bytes()
        )));
    }
    let kind = set.manifest().source.get("kind").and_then(|k| k.as_str());
    if kind != Some(PREDICTIONS_KIND) {
        return Err(DataError::Invalid(format!(
            "{}: not a prediction set (its manifest's source.kind is {}, not \"{PREDICTIONS_KIND}\")",
            dir.display(),
            kind.map(|k| format!("\"{k}\"")).unwrap_or_else(|| "absent".into())
        )));
    }
    Ok(set)
}

/// The prediction sets of `path`: `path` itself when it is a set, else its subdirectories that
/// hold a manifest, sorted by name, as `(name, dir)`.
pub fn prediction_sets(path: &Path) -> Result<Vec<(String, PathBuf)>, DataError> {
    let name_of = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    if path.join(MANIFEST_FILE).is_file() {
        return Ok(vec![(name_of(path), path.to_path_buf())]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| {
        DataError::Invalid(format!(
            "{}: cannot read the prediction store: {e}",
            path.display()
        ))
    })?;
    let mut sets: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(MANIFEST_FILE).is_file())
        .map(|p| (name_of(&p), p))
        .collect();
    sets.sort();
    if sets.is_empty() {
        return Err(DataError::Invalid(format!(
            "{}: holds no prediction set (no subdirectory with a manifest.json)",
            path.display()
        )));
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_keeps_constants_and_matches_opencv_on_a_2x_upscale() {
        let c = resize_map(&[0.25; 12], 4, 3, 9, 7);
        assert!(c.iter().all(|&v| (v - 0.25).abs() < 1e-7));
        // cv2.resize(np.array([[0, 1]], np.float32), (4, 1)) == [0, 0.25, 0.75, 1].
        assert_eq!(
            resize_map(&[0.0, 1.0], 2, 1, 4, 1),
            vec![0.0, 0.25, 0.75, 1.0]
        );
        // cv2.resize(np.array([[0],[1]], np.float32), (1, 4)) likewise along the rows.
        assert_eq!(
            resize_map(&[0.0, 1.0], 1, 2, 1, 4),
            vec![0.0, 0.25, 0.75, 1.0]
        );
        assert_eq!(
            resize_map(&[0.1, 0.2, 0.3, 0.4], 2, 2, 2, 2),
            vec![0.1, 0.2, 0.3, 0.4]
        );
    }
}
