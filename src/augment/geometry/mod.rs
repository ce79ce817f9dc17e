//! OpenCV 4.x-exact resampling for 8-bit images: border rules, warpAffine, remap, resize.
//!
//! Everything here follows the integer recipes of OpenCV 4.x (augment-spec §1.3/§1.4) so that the
//! outputs equal albumentations 0.3.1 + OpenCV 4.8.1 bit for bit.

mod border;
mod kernel;
mod remap;
mod resize;
mod sampler;
mod warp;

pub use border::{border_index, BorderMode};
pub(crate) use kernel::has_avx2;
#[cfg(test)]
pub(crate) use kernel::FORCE_SCALAR;
pub(crate) use remap::RowSampler;
pub use remap::{remap, remap_into, remap_separable_into};
pub use resize::{resize, resize_into};
pub use sampler::Interpolation;
pub use warp::{
    affine_from_points, invert_affine, rotation_matrix_2d, warp_affine, warp_affine_into, Affine,
};

#[cfg(test)]
mod tests;
