//! `Resize(height, width)`: `cv2.resize` of the image (its interpolation) and of the mask (nearest).

use super::geometry::{resize_into, Interpolation};
use super::scratch::{all_zero, replace_image};
use super::transform::Prob;
use super::ImageU8;

/// albumentations `Resize(height, width, interpolation)`. Same-size input is left untouched
/// (cv2.resize copies); 1024 -> 512 is the exact 2x2 mean for the image and the top-left pixel
/// of each block for the mask.
#[derive(Clone, Debug, PartialEq)]
pub struct Resize {
    /// Output height.
    pub height: usize,
    /// Output width.
    pub width: usize,
    /// Image interpolation (the mask always uses nearest).
    pub interpolation: Interpolation,
    /// When it runs (the solution sets `always_apply`).
    pub prob: Prob,
}

impl Resize {
    /// Resizes image and mask to `height x width`.
    pub fn apply(&self, image: &mut ImageU8, mask: Option<&mut ImageU8>) {
        resize_one(image, self.width, self.height, self.interpolation);
        if let Some(m) = mask {
            if (m.width(), m.height()) == (self.width, self.height) {
                // same size: cv2.resize copies; nothing to do (no scan, no copy)
            } else if all_zero(m.data()) {
                *m = ImageU8::new(self.width, self.height);
            } else {
                resize_one(m, self.width, self.height, Interpolation::Nearest);
            }
        }
    }
}

fn resize_one(img: &mut ImageU8, width: usize, height: usize, interp: Interpolation) {
    if (img.width(), img.height()) == (width, height) {
        return;
    }
    replace_image(img, width, height, |src, out| resize_into(src, interp, out));
}
