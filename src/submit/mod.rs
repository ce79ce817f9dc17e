//! The submission (`TripletSubmit.py`): every test map of a prediction set through the
//! solution's post-processing, resized to the competition's 1024² and written as
//! `ImageId,EncodedPixels` with the official RLE (`-1` for an empty mask), every image once.
//!
//! Per image, with the stored map (u8 `q` with `p = q / 255`, or f16; see
//! [`crate::data::prob_map`]): the triplet rule (or the leak rule `p > leak` for images with several objects when `leak` is
//! set), then `remove_smallest(min_contour_area)` when it is positive, else
//! `extract_largest(n_objects)` when `use_contours`, then `cv2.resize(mask255, (1024, 1024),
//! INTER_LINEAR) > 127` (OpenCV's fixed-point bilinear, see [`crate::augment`]). Areas (`area`,
//! `min_contour_area`) are given at `area_resolution` and scaled by `(map side / area_resolution)²`.

pub mod overlay;

use crate::augment::geometry::resize_into;
use crate::augment::{ImageU8, Interpolation};
use crate::data::predictions::{open_prediction_set, set_encoding, MapEncoding};
use crate::data::DataError;
use crate::metric::{
    binarize_f32_into, binarize_u8_into, MetricError, PostProcessor, Rule, Triplet,
};
use data_prep::atomic::write_bytes_atomic;
use data_prep::shard::{Decoder, Split};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// `[submit]`: the post-processing of the submission.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitConfig {
    /// Gate threshold: pixels with `p > top` are counted.
    pub top: f64,
    /// Minimum count of pixels above `top` for a non-empty mask (at `area_resolution`).
    pub area: f64,
    /// Mask threshold of a positive image: `p > bottom`.
    pub bottom: f64,
    /// Contours of area `<=` this are removed (0 = off; at `area_resolution`).
    #[serde(default)]
    pub min_contour_area: f64,
    /// Keep the `n_objects` largest contours (when `min_contour_area` is 0).
    #[serde(default)]
    pub use_contours: bool,
    /// The ungated threshold for images with several objects (the "leak"); off when absent.
    pub leak: Option<f64>,
    /// The resolution `area` and `min_contour_area` are expressed at (default: the map's own).
    pub area_resolution: Option<u32>,
    /// Side of the submitted masks.
    #[serde(default = "default_output_size")]
    pub output_size: u32,
    /// The prediction set in the store (default `test-top`).
    #[serde(default = "default_set")]
    pub predictions: String,
    /// The CSV (default `<run dir>/submission.csv`).
    pub out: Option<PathBuf>,
}

fn default_output_size() -> u32 {
    1024
}

fn default_set() -> String {
    "test-top".into()
}

impl SubmitConfig {
    /// Checks the values; `Err((key, problem))` names the key under `submit.`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (key, v) in [("top", self.top), ("bottom", self.bottom)]
            .into_iter()
            .chain(self.leak.map(|l| ("leak", l)))
        {
            if !(0.0..=1.0).contains(&v) {
                return Err((key.into(), format!("{v}: must be within [0, 1]")));
            }
        }
        for (key, v) in [
            ("area", self.area),
            ("min_contour_area", self.min_contour_area),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err((key.into(), format!("{v}: must be finite and >= 0")));
            }
        }
        if !(8..=8192).contains(&self.output_size) {
            return Err((
                "output_size".into(),
                format!("{}: must be within 8..=8192", self.output_size),
            ));
        }
        if self.area_resolution == Some(0) {
            return Err(("area_resolution".into(), "0: must be positive".into()));
        }
        Ok(())
    }
}

/// Why a submission could not be made.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The prediction set could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A record of the set could not be read.
    #[error("{set}: record {index}: {problem}")]
    Record {
        /// The prediction set.
        set: PathBuf,
        /// The record's index.
        index: usize,
        /// Why.
        problem: String,
    },
    /// The set holds no test record.
    #[error("{0}: holds no test record (predict the test split first: `pneumoflow predict --split test`)")]
    NoTest(PathBuf),
    /// Post-processing refused a map.
    #[error("{id}: {source}")]
    Metric {
        /// The image.
        id: String,
        /// Why.
        source: MetricError,
    },
    /// The CSV could not be written.
    #[error("{path}: writing the submission: {source}")]
    Write {
        /// The CSV.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What a submission holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitSummary {
    /// Images written.
    pub images: usize,
    /// Images with a non-empty mask.
    pub non_empty: usize,
}

/// The post-processed mask of one map (`side x side`, 0/255) at `output_size`² (0/255).
pub struct PostProcess {
    config: SubmitConfig,
    post: PostProcessor,
    binary: Vec<u8>,
    kept: Vec<u8>,
}

impl PostProcess {
    /// Post-processing with `config`.
    pub fn new(config: SubmitConfig) -> PostProcess {
        PostProcess {
            config,
            post: PostProcessor::new(),
            binary: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// The mask of `map` (`side x side`, stored as `encoding`, an image with `n_objects`
    /// objects) at the output size. u8 maps take the metric's u8 rule (`q / 255 > t`), f16 maps
    /// its f32 rule on the decoded values.
    pub fn mask(
        &mut self,
        map: &[u8],
        encoding: MapEncoding,
        side: usize,
        n_objects: usize,
    ) -> Result<Vec<u8>, MetricError> {
        let c = &self.config;
        let scale = c
            .area_resolution
            .map(|r| (side as f64 / r as f64).powi(2))
            .unwrap_or(1.0);
        let triplet = Triplet::new(c.top, (c.area * scale).round() as u64, c.bottom);
        let rule = match c.leak {
            Some(leak) => Rule::for_objects(n_objects, triplet, leak),
            None => Rule::Triplet(triplet),
        };
        let pixels = map.len() / encoding.pixel_bytes();
        self.binary.resize(pixels, 0);
        self.kept.resize(pixels, 0);
        match encoding {
            MapEncoding::U8 => binarize_u8_into(map, &rule, &mut self.binary)?,
            MapEncoding::F16 => binarize_f32_into(&encoding.decode(map), &rule, &mut self.binary)?,
        };
        let mask = if c.min_contour_area > 0.0 {
            let min = c.min_contour_area * scale;
            self.post
                .remove_smallest_into(&self.binary, side, side, min, &mut self.kept)?;
            &self.kept
        } else if c.use_contours {
            self.post.extract_largest_into(
                &self.binary,
                side,
                side,
                n_objects.max(1),
                &mut self.kept,
            )?;
            &self.kept
        } else {
            &self.binary
        };
        let out = c.output_size as usize;
        if out == side {
            return Ok(mask.clone());
        }
        let src = ImageU8::from_vec(side, side, mask.clone()).expect("side x side");
        let mut dst = ImageU8::new(out, out);
        resize_into(&src, Interpolation::Linear, &mut dst);
        let mut v = dst.into_vec();
        for x in &mut v {
            *x = if *x > 127 { 255 } else { 0 };
        }
        Ok(v)
    }
}

/// Writes the submission of the test records of the prediction set `set` to `csv` (atomically);
/// rows in the set's record order.
pub fn write_submission(
    set: &Path,
    config: &SubmitConfig,
    csv: &Path,
) -> Result<SubmitSummary, SubmitError> {
    let shards = open_prediction_set(set)?;
    let encoding = set_encoding(&shards);
    let mut post = PostProcess::new(config.clone());
    let mut decoder = Decoder::new();
    let mut text = String::from("ImageId,EncodedPixels\n");
    let mut summary = SubmitSummary {
        images: 0,
        non_empty: 0,
    };
    for index in 0..shards.len() {
        if shards.record(index).split != Split::Test {
            continue;
        }
        let rec = shards
            .read(index, &mut decoder)
            .map_err(|e| SubmitError::Record {
                set: set.to_path_buf(),
                index,
                problem: e.to_string(),
            })?;
        let side = rec.meta.width as usize;
        if rec.meta.height as usize != side {
            return Err(SubmitError::Record {
                set: set.to_path_buf(),
                index,
                problem: format!("a {}x{} map is not square", rec.meta.width, rec.meta.height),
            });
        }
        let mask = post
            .mask(&rec.image, encoding, side, rec.meta.n_objects as usize)
            .map_err(|source| SubmitError::Metric {
                id: rec.meta.id.clone(),
                source,
            })?;
        let out = config.output_size as usize;
        let rle = data_prep::rle::encode(&mask, out, out);
        summary.images += 1;
        if rle != "-1" {
            summary.non_empty += 1;
        }
        text.push_str(&rec.meta.id);
        text.push(',');
        text.push_str(&rle);
        text.push('\n');
    }
    if summary.images == 0 {
        return Err(SubmitError::NoTest(set.to_path_buf()));
    }
    let write = |source| SubmitError::Write {
        path: csv.to_path_buf(),
        source,
    };
    if let Some(parent) = csv.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(write)?;
    }
    write_bytes_atomic(csv, text.as_bytes()).map_err(write)?;
    Ok(summary)
}
