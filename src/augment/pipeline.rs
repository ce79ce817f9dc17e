//! `Pipeline`: the validated transform tree plus the batch-time network-input conversion.

use super::compose::Compose;
use super::normalize::{to_unit_into, Normalize};
use super::scratch::all_zero;
use super::transform::{Applied, Params, Transform};
use super::{AugmentError, ImageU8};
use rand::Rng;

/// A ready-to-run augmentation pipeline: the uint8 transforms (a top-level [`Compose`]) and, when
/// the source ends with `Normalize`, the normalisation applied at batch time.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    compose: Compose,
    normalize: Option<Normalize>,
    /// Every transform maps a blank (all-zero) mask to a blank mask: see
    /// [`Pipeline::keeps_blank_masks`].
    keeps_blank_masks: bool,
}

/// Channels of the network input (the solution fed `cv2.imread(path, 1)`: three equal planes).
pub const NETWORK_CHANNELS: usize = 3;

impl Pipeline {
    /// A pipeline from a top-level Compose and an optional final Normalize.
    pub fn new(compose: Compose, normalize: Option<Normalize>) -> Self {
        let keeps_blank_masks = compose.transforms.iter().all(Transform::keeps_blank_mask);
        Self {
            compose,
            normalize,
            keeps_blank_masks,
        }
    }

    /// Whether a blank (all-zero) mask comes out blank whatever the draws: true unless a warp
    /// fills mask borders with a non-zero constant. Then a blank mask need not be transformed
    /// at all, only given the output size (what [`Pipeline::apply`] does with one).
    pub fn keeps_blank_masks(&self) -> bool {
        self.keeps_blank_masks
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
        // A blank mask (every negative sample's) is checked once here and not handed to the
        // transforms, which would each check it again; it only takes the output size.
        let (mut mask, blank_mask) = match mask {
            Some(m) if self.keeps_blank_masks && all_zero(m.data()) => (None, Some(m)),
            m => (m, None),
        };
        let mut run_leaf = |leaf: &Transform, params: Params| {
            leaf.apply_params(&params, image, mask.as_deref_mut());
            if let Some(t) = trace.as_deref_mut() {
                t.push(Applied {
                    name: leaf.name(),
                    params,
                });
            }
        };
        self.compose.call(false, rng, &mut run_leaf);
        if let Some(m) = blank_mask {
            if (m.width(), m.height()) != (image.width(), image.height()) {
                *m = ImageU8::new(image.width(), image.height());
            }
        }
        Ok(())
    }

    /// The names of the leaf transforms, depth first in the order they are called (a name used
    /// by several leaves is listed once).
    pub fn leaf_names(&self) -> Vec<&'static str> {
        let mut leaves = Vec::new();
        self.compose
            .transforms
            .iter()
            .for_each(|t| t.leaves(&mut leaves));
        let mut names: Vec<&'static str> = Vec::new();
        for name in leaves.iter().map(|t| t.name()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The leaf transforms that [`Pipeline::apply_traced`] would run with this `rng`, and their
    /// parameters, without touching an image: the draws do not depend on the pixels, so the
    /// plan of a sample is exact and costs microseconds.
    pub fn plan<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<Applied> {
        let mut plan = Vec::new();
        self.compose
            .call(false, rng, &mut |leaf: &Transform, params| {
                plan.push(Applied {
                    name: leaf.name(),
                    params,
                })
            });
        plan
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::{cpu, sample_rng, transforms_from_toml_table};

    /// Every transform (the distortions and intensity ones more often than in the solution's
    /// pipeline), an exact-2x final Resize (the INTER_AREA kernel) and Normalize.
    const EVERY_TRANSFORM: &str = r#"
        [augment]
        p = 1.0
        [[augment.transforms]]
        type = "HorizontalFlip"
        p = 0.5
        [[augment.transforms]]
        type = "OneOf"
        p = 0.9
        [[augment.transforms.transforms]]
        type = "RandomContrast"
        limit = [-0.2, 0.2]
        p = 0.5
        [[augment.transforms.transforms]]
        type = "RandomGamma"
        gamma_limit = [80, 120]
        p = 0.5
        [[augment.transforms.transforms]]
        type = "RandomBrightness"
        limit = [-0.2, 0.2]
        p = 0.5
        [[augment.transforms]]
        type = "OneOf"
        p = 0.9
        [[augment.transforms.transforms]]
        type = "ElasticTransform"
        alpha = 120
        sigma = 6.0
        alpha_affine = 3.6
        interpolation = 1
        border_mode = 4
        p = 0.5
        [[augment.transforms.transforms]]
        type = "ElasticTransform"
        alpha = 120
        sigma = 6.0
        alpha_affine = 3.6
        interpolation = 1
        border_mode = 4
        fields = "numpy"
        p = 0.5
        [[augment.transforms.transforms]]
        type = "GridDistortion"
        num_steps = 5
        distort_limit = [-0.3, 0.3]
        interpolation = 1
        border_mode = 4
        p = 0.5
        [[augment.transforms.transforms]]
        type = "OpticalDistortion"
        distort_limit = [-2, 2]
        shift_limit = [-0.5, 0.5]
        interpolation = 1
        border_mode = 4
        p = 0.5
        [[augment.transforms]]
        type = "ShiftScaleRotate"
        shift_limit = [-0.0625, 0.0625]
        scale_limit = 0.1
        rotate_limit = [-45, 45]
        interpolation = 1
        border_mode = 4
        p = 0.5
        [[augment.transforms]]
        type = "Resize"
        height = 60
        width = 84
        interpolation = 1
        always_apply = true
        p = 1
        [[augment.transforms]]
        type = "Normalize"
        mean = [0.485, 0.456, 0.406]
        std = [0.229, 0.224, 0.225]
        max_pixel_value = 255.0
        p = 1.0
    "#;

    #[test]
    fn scalar_kernels_give_the_same_samples_as_the_simd_kernels() {
        // every SIMD kernel the pipeline dispatches (flip, LUT apply, image mean, field
        // generators and smoothing, map rows, warp / remap rows, area resize, Normalize) against
        // its scalar fallback, end to end: same image, mask and network input bits
        let doc: toml::Table = toml::from_str(EVERY_TRANSFORM).unwrap();
        let pipeline = transforms_from_toml_table(&doc, "every-transform").unwrap();
        let (w, h) = (168, 120);
        let image = ImageU8::from_fn(w, h, |x, y| ((x * 7 + y * 3 + x * y / 11) % 256) as u8);
        let mask = ImageU8::from_fn(w, h, |x, y| {
            if (50..90).contains(&x) && (30..70).contains(&y) {
                255
            } else {
                0
            }
        });
        let run = |epoch: u64| {
            let (mut img, mut m) = (image.clone(), mask.clone());
            let mut rng = sample_rng(11, epoch, "sample");
            let trace = pipeline
                .apply_traced(&mut img, Some(&mut m), &mut rng)
                .unwrap();
            let mut input = vec![0f32; NETWORK_CHANNELS * img.width() * img.height()];
            pipeline.network_input_into(&img, &mut input);
            let bits: Vec<u32> = input.iter().map(|v| v.to_bits()).collect();
            (trace, img, m, bits)
        };
        let mut ran = std::collections::BTreeSet::new();
        for epoch in 0..40 {
            let simd = run(epoch);
            let scalar = cpu::with_scalar(|| run(epoch));
            assert!(simd == scalar, "epoch {epoch}: {:?}", simd.0);
            ran.extend(simd.0.iter().map(|a| a.name));
        }
        // every leaf type ran at least once in these epochs
        let names = pipeline.leaf_names();
        assert_eq!(names.len(), 9, "{names:?}");
        assert!(names.iter().all(|n| ran.contains(n)), "{ran:?}");
    }
}
