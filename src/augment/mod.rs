//! albumentations 0.3.1 transforms, bit-exact with OpenCV 4.x.
//!
//! # Using it
//!
//! ```no_run
//! use pneumoflow::augment::{load_transforms, sample_rng, ImageU8};
//! # fn main() -> Result<(), pneumoflow::augment::AugmentError> {
//! // 1. a pipeline from TOML (`[augment]` or top-level `transforms`) or from the solution's
//! //    albumentations JSON (`pipelines/transforms/train_transforms_complex_1024.json`)
//! let pipeline = load_transforms("pipelines/augment_complex_1024.toml")?;
//!
//! // 2. per sample and epoch: a deterministic generator, then augment image + mask in place
//! let mut image = ImageU8::from_vec(1024, 1024, vec![0; 1024 * 1024])?;
//! let mut mask = ImageU8::new(1024, 1024);
//! let mut rng = sample_rng(/* seed */ 42, /* epoch */ 3, "1.2.276.0.7230010.3.1.4.8323329.1000");
//! pipeline.apply(&mut image, Some(&mut mask), &mut rng)?;
//!
//! // 3. at batch time: the 3 x H x W float32 network input (Normalize if the pipeline ends with
//! //    one, else x / 255 as albumentations' ToTensor); masks become 0/1 with `unit_table()`.
//! let mut input = vec![0f32; 3 * image.width() * image.height()];
//! pipeline.network_input_into(&image, &mut input);
//! # Ok(()) }
//! ```
//!
//! - [`Pipeline::apply`] mutates the u8 image (and mask) in place; the result depends only on
//!   the pipeline, the inputs and the generator, so `sample_rng(seed, epoch, id)` makes the
//!   outcome independent of worker count and processing order. [`Pipeline::apply_traced`] also
//!   returns which transforms ran with which parameters.
//! - [`Pipeline::fixed_output_size`] tells the shard writer the output size when a final
//!   `Resize` always runs.
//! - [`render_preview`] draws K samples (image + red mask outline) into a PNG grid: run
//!   `apply` K times with `sample_rng(seed, k, id)` and pass the results as [`PreviewSample`]s.
//! - Each transform also exposes `sample(rng) -> params` and `apply(&params, image, mask)`
//!   (and [`Transform::sample`] / [`Transform::apply_params`] on the tree) for pinned-parameter
//!   runs; [`ElasticTransform::apply_fields`] takes explicit displacement fields.
//! - [`AugmentConfig`] is the serde type of the `[augment]` section (embed it in a larger config
//!   and call [`AugmentConfig::build`]); errors are [`AugmentError`] naming file, position,
//!   transform and parameter.
//!
//! # Semantics
//! albumentations 0.3.1 (the version of the solution's JSON) on OpenCV 4.8: `p` / `always_apply`
//! / `OneOf` weights, brightness x image mean, gamma exponent 1/gamma with gamma in hundredths,
//! elastic affine pre-warp + Gaussian-smoothed uniform fields, grid linspace cells, optical
//! camera map, ShiftScaleRotate about (W/2, H/2); OpenCV's fixed-point bilinear (warpAffine
//! 10-bit walk, remap 1/32 px), nearest for masks, BORDER_REFLECT_101 repeated far outside.
//! Parity fixtures from the real library: `tests/fixtures/augment/`.
//!
//! Exact (0 differing pixels against albumentations + OpenCV 4.8): the LUT transforms, flip,
//! ShiftScaleRotate, GridDistortion, OpticalDistortion, Resize, and ElasticTransform *given its
//! fields* (pre-warp matrix and displacement fields; [`ElasticTransform::apply_fields`]).
//! ElasticTransform's fields themselves come, by default, from a fast float32 generator with
//! the same distribution as albumentations' (uniform noise on [-1, 1), the same Gaussian
//! kernel and 'reflect' borders, times alpha; the pre-warp matrix is numpy's for the seed):
//! distribution-equivalent, not draw-identical. `fields = "numpy"` ([`ElasticFieldMode::Numpy`])
//! reproduces 0.3.1's fields draw for draw from the same seed (MT19937 + scipy's float64
//! filter), about 3x slower.
//!
//! # Speed
//! Warps and remaps with REFLECT_101 fold the 1/32-px source coordinate into the image
//! (`geometry/kernel`), so every pixel takes the same branch-free path: SIMD coordinates and
//! weights, scalar 16-bit neighbourhood loads, SIMD integer blend; masks skip groups of samples
//! that fall outside their nonzero bounding box. Other borders use the per-pixel reference
//! sampler. Both give OpenCV's bytes; `geometry/tests.rs` checks them against each other.
//! Every SIMD kernel (AVX2, FMA, AVX-512) picks its path at run time through `cpu.rs` (cached
//! feature checks); the tests run each scalar fallback with `cpu::with_scalar` and compare bits.

mod brightness;
mod builder;
mod compose;
mod config;
mod contrast;
mod cpu;
mod elastic;
mod elastic_fields;
mod error;
mod flip;
mod gamma;
pub mod gaussian;
pub mod geometry;
mod grid_distortion;
mod image;
mod load;
pub mod mt19937;
mod normalize;
mod optical_distortion;
mod pipeline;
mod preview;
mod resize;
mod rng;
mod scratch;
pub(crate) use scratch::all_zero;
mod shift_scale_rotate;
mod transform;

pub use brightness::{brightness_lut, RandomBrightness};
pub use compose::{Compose, OneOf};
pub use config::{
    AugmentConfig, ComposeConfig, ElasticConfig, FillValue, FlipConfig, GammaConfig, GridConfig,
    Limit, LimitConfig, NormalizeConfig, OneOfConfig, OpticalConfig, ResizeConfig, SsrConfig,
    TransformConfig, SUPPORTED,
};
pub use contrast::{apply_lut, contrast_lut, RandomContrast};
pub use elastic::{ElasticFieldMode, ElasticFields, ElasticParams, ElasticTransform};
pub use error::AugmentError;
pub use flip::{hflip, HorizontalFlip};
pub use gamma::{gamma_lut, RandomGamma};
pub use geometry::{BorderMode, Interpolation};
pub use grid_distortion::{grid_axis, GridDistortion, GridParams};
pub use image::ImageU8;
pub use load::{load_transforms, transforms_from_toml_table};
pub use normalize::{to_unit_into, unit_table, Normalize};
pub use optical_distortion::{optical_map, OpticalDistortion, OpticalParams};
pub use pipeline::{Pipeline, NETWORK_CHANNELS};
pub use preview::{render_preview, PreviewOptions, PreviewSample};
pub use resize::Resize;
pub use rng::{coin, randint, random01, sample_rng, uniform, AugRng};
pub use shift_scale_rotate::{ssr_matrix, ShiftScaleRotate, SsrParams};
pub use transform::{Applied, Params, Prob, Transform};
