//! The solution's validation metric and post-processing, pure CPU (no tch, no timely).
//!
//! sneddy's TripletSubmit.py / MaskBinarizers.py / `dice_metric` on OpenCV 4.8.1, reproduced
//! exactly (the contour code is checked pixel for pixel against `cv2` by
//! `tests/metric_parity.rs`):
//!
//! - [`mod@dice`]: per-image `(2|P∩G| + eps) / (|P| + |G| + eps)`, 1 for two empty masks, mean over
//!   images; `eps` 1e-6 ([`DEFAULT_EPS`]) or the competition's 1e-4 ([`COMPETITION_EPS`]).
//! - [`binarize`]: triplet `(top, area, bottom)`: positive iff `count(p > top) >= area`, then
//!   `p > bottom`, else all zeros; doublet = triplet with `bottom = top`; the leak rule
//!   `p > leak` without the gate for images with several objects. Strict `>`; f32 maps compare in
//!   f32, u8 maps `q` as `q / 255.0 > t` in f64 (an integer cutoff per threshold).
//! - [`remove_smallest`] / [`extract_largest`]: `cv2.findContours(RETR_TREE,
//!   CHAIN_APPROX_SIMPLE)` (outer and hole borders, [`ContourFinder`]), `cv2.contourArea`
//!   (polygon area through the boundary pixel centres: a 1-px object 0, a k x k square
//!   (k - 1)^2), keep `area > A` or the `n` largest (numpy's `argsort(areas)[::-1]` tie order),
//!   then `cv2.drawContours(..., FILLED)`: all kept contours filled together with the even-odd
//!   rule, so kept holes stay holes and dropped holes are filled ([`Filler`]).
//!
//! Masks are row-major `u8` slices with explicit width and height; any nonzero pixel is
//! foreground and every output mask is 0/255. The `*_into` functions and the reusable
//! [`PostProcessor`], [`ContourFinder`] and [`Filler`] write into caller buffers for sweeps
//! over many configurations.

pub mod binarize;
pub mod contours;
pub mod dice;
pub mod fill;
pub mod find_contours;
pub mod np_argsort;

pub use binarize::{
    binarize_f32_into, binarize_u8_into, count_above_f32, count_above_u8, threshold_f32_into,
    threshold_u8_into, u8_cutoff, Rule, Triplet, U8Histogram,
};
pub use contours::{extract_largest, remove_smallest, PostProcessor};
pub use dice::{dice, mean_dice, DiceCounts, MeanDice, COMPETITION_EPS, DEFAULT_EPS};
pub use fill::Filler;
pub use find_contours::{contour_area, ContourFinder, Contours, Point};
pub use np_argsort::argsort_into;

/// The foreground value of every mask this module writes (OpenCV's drawing colour 255).
pub const FG: u8 = 255;

/// Largest mask side accepted (contour coordinates are `i32` and areas exact in f64).
pub const MAX_SIDE: usize = 1 << 24;

/// Why a metric or post-processing call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricError {
    /// Prediction and ground truth differ in size.
    #[error("the prediction has {pred} pixels but the ground truth has {truth}")]
    LengthMismatch {
        /// Pixels of the prediction.
        pred: usize,
        /// Pixels of the ground truth.
        truth: usize,
    },
    /// A mask or output buffer does not hold `width * height` pixels.
    #[error("a {width}x{height} mask needs {} pixels, got {got}", width * height)]
    MaskSize {
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
        /// Pixels given.
        got: usize,
    },
    /// An output buffer differs in size from the input map.
    #[error("the output buffer has {got} pixels, the map has {expected}")]
    OutputLength {
        /// Pixels of the map.
        expected: usize,
        /// Pixels of the output buffer.
        got: usize,
    },
    /// A side exceeds [`MAX_SIDE`].
    #[error("a {width}x{height} mask is too large (at most {MAX_SIDE} per side)")]
    TooLarge {
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
    },
}

/// Checks that a buffer of `len` pixels is a `width x height` mask.
fn check_mask(len: usize, width: usize, height: usize) -> Result<(), MetricError> {
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(MetricError::TooLarge { width, height });
    }
    if width.checked_mul(height) != Some(len) {
        return Err(MetricError::MaskSize {
            width,
            height,
            got: len,
        });
    }
    Ok(())
}
