//! `Pipeline`: the validated transform tree plus the batch-time network-input conversion.

use super::compose::Compose;
use super::normalize::{to_unit_into, Normalize};
use super::transform::{Applied, Transform};
use super::{AugmentError, ImageU8};
use rand::Rng;

/// A ready-to-run augmentation pipeline: the uint8 transforms (a top-level [`Compose`]) and, when
/// the source ends with `Normalize`, the normalisation applied at batch time.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    compose: Compose,
    normalize: Option<Normalize>,
}

/// Channels of the network input (the solution fed `cv2.imread(path, 1)`: three equal planes).
pub const NETWORK_CHANNELS: usize = 3;

impl Pipeline {
    /// A pipeline from a top-level Compose and an optional final Normalize.
    pub fn new(compose: Compose, normalize: Option<Normalize>) -> Self {
        Self { compose, normalize }
    }

    /// The uint8 transforms.
    pub fn compose(&self) -> &Compose {
        &self.compose
    }

    /// The trailing Normalize, if the source had one.
    pub fn normalize(&self) -> Option<&Normalize> {
        self.normalize.as_ref()
    }

    /// Augments `image` (and `mask`) in place with albumentations 0.3.1 semantics. The outcome is
    /// a pure function of the inputs and the state of `rng` (use [`sample_rng`](super::sample_rng)).
    pub fn apply<R: Rng + ?Sized>(
        &self,
        image: &mut ImageU8,
        mask: Option<&mut ImageU8>,
        rng: &mut R,
    ) -> Result<(), AugmentError> {
        self.run(image, mask, rng, &mut None)
    }

    /// [`Pipeline::apply`], also returning which leaf transforms ran with which parameters.
    pub fn apply_traced<R: Rng + ?Sized>(
        &self,
        image: &mut ImageU8,
        mask: Option<&mut ImageU8>,
        rng: &mut R,
    ) -> Result<Vec<Applied>, AugmentError> {
        let mut trace = Vec::new();
        self.run(image, mask, rng, &mut Some(&mut trace))?;
        Ok(trace)
    }

    fn run<R: Rng + ?Sized>(
        &self,
        image: &mut ImageU8,
        mask: Option<&mut ImageU8>,
        rng: &mut R,
        trace: &mut Option<&mut Vec<Applied>>,
    ) -> Result<(), AugmentError> {
        if let Some(m) = &mask {
            if (m.width(), m.height()) != (image.width(), image.height()) {
                return Err(AugmentError::MaskSize {
                    width: image.width(),
                    height: image.height(),
                    mask_width: m.width(),
                    mask_height: m.height(),
                });
            }
        }
        self.compose.call(false, image, mask, rng, trace);
        Ok(())
    }

    /// The network input for an augmented image: `NETWORK_CHANNELS x H x W` float32 (CHW), through
    /// Normalize when the pipeline has one, else `x / 255` (albumentations' ToTensor).
    ///
    /// # Panics
    /// If `out.len() != 3 * width * height`.
    pub fn network_input_into(&self, image: &ImageU8, out: &mut [f32]) {
        match &self.normalize {
            Some(n) => n.apply_into(image, NETWORK_CHANNELS, out),
            None => to_unit_into(image, NETWORK_CHANNELS, out),
        }
    }

    /// The output size when a top-level `Resize` always runs last among the resizes
    /// (`always_apply`, or `p >= 1` inside a `p >= 1` Compose); `None` if the size can vary.
    pub fn fixed_output_size(&self) -> Option<(usize, usize)> {
        let mut size = None;
        for t in &self.compose.transforms {
            match t {
                Transform::Resize(r)
                    if r.prob.always_apply || (r.prob.p >= 1.0 && self.compose.p >= 1.0) =>
                {
                    size = Some((r.width, r.height));
                }
                Transform::Resize(_) => size = None,
                other if contains_resize(other) => size = None,
                _ => {}
            }
        }
        size
    }
}

fn contains_resize(t: &Transform) -> bool {
    match t {
        Transform::Resize(_) => true,
        Transform::OneOf(o) => o.transforms.iter().any(contains_resize),
        Transform::Compose(c) => c.transforms.iter().any(contains_resize),
        _ => false,
    }
}
