//! OpenCV 4.x-exact resampling for 8-bit images: border rules, warpAffine, remap, resize.
//!
//! Everything here follows the integer recipes of OpenCV 4.x (`imgproc/src/imgwarp.cpp`: the
//! 10-bit warpAffine walk and the 1/32-pixel remap tables) so that the
//! outputs equal albumentations 0.3.1 + OpenCV 4.8.1 bit for bit.

mod border;
mod kernel;
mod remap;
mod resize;
mod sampler;
mod warp;

pub use border::{border_index, BorderMode};
pub(crate) use remap::RowSampler;
pub use remap::{remap, remap_into, remap_separable_into};
pub use resize::{resize, resize_into};
pub use sampler::Interpolation;
pub use warp::{
    affine_from_points, invert_affine, rotation_matrix_2d, warp_affine, warp_affine_into, Affine,
};

#[cfg(test)]
mod tests;
