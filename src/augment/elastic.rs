//! `ElasticTransform` (albumentations 0.3.1, `approximate=False`): a random 3-point affine
//! pre-warp, then two Gaussian-smoothed uniform displacement fields and a remap.
//!
//! The random part is numpy-exact: `seed` feeds a NumPy `RandomState` ([`RandomState`]), which
//! draws the six affine offsets and then the two `H x W` noise fields; the fields are smoothed by
//! [`gaussian_filter`](super::gaussian) in scipy's operation order. So a seed reproduces
//! albumentations' fields bit for bit, and [`ElasticTransform::apply_fields`] reproduces the warp
//! for any given fields. Reference: albumentations/augmentations/functional.py `elastic_transform`.

use super::gaussian::{gaussian_filter_rows, gaussian_kernel, GaussianScratch};
use super::geometry::{
    affine_from_points, remap_row, warp_affine_into, Affine, BorderMode, Interpolation,
};
use super::mt19937::RandomState;
use super::rng::randint;
use super::scratch::{is_blank_mask, replace_image};
use super::transform::Prob;
use super::ImageU8;
use rand::Rng;
use std::cell::RefCell;

/// albumentations 0.3.1 `ElasticTransform(alpha, sigma, alpha_affine, approximate=False)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ElasticTransform {
    /// Field amplitude.
    pub alpha: f64,
    /// Gaussian sigma of the field smoothing.
    pub sigma: f64,
    /// Maximum offset (pixels) of each affine control point.
    pub alpha_affine: f64,
    /// Image interpolation (the mask always uses nearest).
    pub interpolation: Interpolation,
    /// Border for the image.
    pub border: BorderMode,
    /// Border for the mask.
    pub mask_border: BorderMode,
    /// pneumoflow extension: a fixed field seed instead of `randint(0, 10000)` (pins the transform).
    pub seed: Option<u32>,
    /// When it runs.
    pub prob: Prob,
}

/// Parameters of one ElasticTransform application: the `RandomState` seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElasticParams {
    /// Seed of the field generator (albumentations: `random.randint(0, 10000)`).
    pub seed: u32,
}

/// Everything random about one elastic deformation of a `width x height` image.
#[derive(Clone, Debug, PartialEq)]
pub struct ElasticFields {
    /// Width of the fields.
    pub width: usize,
    /// Height of the fields.
    pub height: usize,
    /// The pre-warp (`cv2.getAffineTransform(pts1, pts2)`), forward.
    pub affine: Affine,
    /// Horizontal displacement, row-major float32.
    pub dx: Vec<f32>,
    /// Vertical displacement, row-major float32.
    pub dy: Vec<f32>,
}

#[derive(Default)]
struct Scratch {
    noise: Vec<f64>,
    gauss: GaussianScratch,
    dx: Vec<f32>,
    dy: Vec<f32>,
    kernel: Vec<f64>,
    kernel_sigma: f64,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl ElasticTransform {
    /// Draws the field seed (`randint(0, 10000)`, both inclusive) unless pinned.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> ElasticParams {
        let seed = match self.seed {
            Some(s) => s,
            None => randint(rng, 0, 10_000) as u32,
        };
        ElasticParams { seed }
    }

    /// The affine pre-warp and the fields that `seed` gives for a `width x height` image.
    pub fn fields(&self, seed: u32, width: usize, height: usize) -> ElasticFields {
        let mut s = Scratch::default();
        let affine = self.fields_into(seed, width, height, &mut s);
        ElasticFields {
            width,
            height,
            affine,
            dx: s.dx,
            dy: s.dy,
        }
    }

    fn fields_into(&self, seed: u32, width: usize, height: usize, s: &mut Scratch) -> Affine {
        let mut rs = RandomState::new(seed);
        let affine = self.random_affine(&mut rs, width, height);
        if s.kernel.is_empty() || s.kernel_sigma != self.sigma {
            s.kernel = gaussian_kernel(self.sigma, 4.0);
            s.kernel_sigma = self.sigma;
        }
        let n = width * height;
        s.noise.resize(n, 0.0);
        s.dx.resize(n, 0.0);
        s.dy.resize(n, 0.0);
        let Scratch {
            noise,
            gauss,
            dx,
            dy,
            kernel,
            ..
        } = s;
        for field in [dx, dy] {
            rs.fill_symmetric_noise(noise);
            let alpha = self.alpha;
            if self.sigma > 1e-15 {
                gaussian_filter_rows(noise, width, height, kernel, gauss, |y, row| {
                    for (o, &v) in field[y * width..(y + 1) * width].iter_mut().zip(row) {
                        *o = (v * alpha) as f32;
                    }
                });
            } else {
                for (o, &v) in field.iter_mut().zip(noise.iter()) {
                    *o = (v * alpha) as f32;
                }
            }
        }
        affine
    }

    /// `pts1` around `(H//2, W//2)` (used as (x, y), exactly as albumentations does),
    /// `pts2 = pts1 + float32(uniform(-a, a, (3, 2)))`, `M = getAffineTransform(pts1, pts2)`.
    fn random_affine(&self, rs: &mut RandomState, width: usize, height: usize) -> Affine {
        let c0 = (height / 2) as f32;
        let c1 = (width / 2) as f32;
        let sq = (height.min(width) / 3) as f32;
        let pts1 = [[c0 + sq, c1 + sq], [c0 + sq, c1 - sq], [c0 - sq, c1 - sq]];
        let mut pts2 = pts1;
        for p in &mut pts2 {
            for v in p.iter_mut() {
                *v += rs.uniform(-self.alpha_affine, self.alpha_affine) as f32;
            }
        }
        // Collinear points (only with absurd alpha_affine) make OpenCV's solve fail; keep the identity.
        affine_from_points(pts1, pts2).unwrap_or([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    }

    /// Deforms image and mask with the fields of `p.seed`.
    pub fn apply(&self, p: &ElasticParams, image: &mut ImageU8, mask: Option<&mut ImageU8>) {
        let (w, h) = (image.width(), image.height());
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let affine = self.fields_into(p.seed, w, h, &mut s);
            self.warp(&affine, &s.dx, &s.dy, image, mask);
        });
    }

    /// Deforms image and mask with given fields (the affine pre-warp, then the displacement remap).
    ///
    /// # Panics
    /// If the fields' size differs from the image's.
    pub fn apply_fields(&self, f: &ElasticFields, image: &mut ImageU8, mask: Option<&mut ImageU8>) {
        assert_eq!(
            (f.width, f.height),
            (image.width(), image.height()),
            "elastic field size"
        );
        self.warp(&f.affine, &f.dx, &f.dy, image, mask);
    }

    fn warp(
        &self,
        affine: &Affine,
        dx: &[f32],
        dy: &[f32],
        image: &mut ImageU8,
        mask: Option<&mut ImageU8>,
    ) {
        let run = |img: &mut ImageU8, interp: Interpolation, border: BorderMode| {
            let (w, h) = (img.width(), img.height());
            replace_image(img, w, h, |src, out| {
                warp_affine_into(src, affine, interp, border, out)
            });
            replace_image(img, w, h, |src, out| {
                displace(src, dx, dy, interp, border, out)
            });
        };
        run(image, self.interpolation, self.border);
        if let Some(m) = mask.filter(|m| !is_blank_mask(m, self.mask_border)) {
            run(m, Interpolation::Nearest, self.mask_border);
        }
    }
}

/// `cv2.remap(src, float32(x + dx), float32(y + dy))`, building each map row on the fly.
fn displace(
    src: &ImageU8,
    dx: &[f32],
    dy: &[f32],
    interp: Interpolation,
    border: BorderMode,
    out: &mut ImageU8,
) {
    let w = out.width();
    let (mut mx, mut my) = (vec![0f32; w], vec![0f32; w]);
    let (mut xs, mut ys) = (vec![0i32; w], vec![0i32; w]);
    for v in 0..out.height() {
        let (rdx, rdy) = (&dx[v * w..(v + 1) * w], &dy[v * w..(v + 1) * w]);
        let vf = v as f64;
        for (u, ((a, b), (&ddx, &ddy))) in mx
            .iter_mut()
            .zip(my.iter_mut())
            .zip(rdx.iter().zip(rdy))
            .enumerate()
        {
            *a = (u as f64 + f64::from(ddx)) as f32;
            *b = (vf + f64::from(ddy)) as f32;
        }
        remap_row(
            src,
            &mx,
            &my,
            interp,
            border,
            &mut xs,
            &mut ys,
            out.row_mut(v),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elastic(alpha_affine: f64) -> ElasticTransform {
        ElasticTransform {
            alpha: 120.0,
            sigma: 6.0,
            alpha_affine,
            interpolation: Interpolation::Linear,
            border: BorderMode::Reflect101,
            mask_border: BorderMode::Reflect101,
            seed: None,
            prob: Prob::always(),
        }
    }

    #[test]
    fn zero_fields_and_identity_affine_copy_the_image() {
        let img = ImageU8::from_fn(10, 8, |x, y| (x * 20 + y) as u8);
        let f = ElasticFields {
            width: 10,
            height: 8,
            affine: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            dx: vec![0.0; 80],
            dy: vec![0.0; 80],
        };
        let mut out = img.clone();
        elastic(3.6).apply_fields(&f, &mut out, None);
        assert_eq!(out, img);
    }

    #[test]
    fn fields_have_the_expected_spread_and_seed_determinism() {
        let t = elastic(3.6);
        let f = t.fields(17, 128, 96);
        assert_eq!(f, t.fields(17, 128, 96));
        assert_ne!(f.dx, t.fields(18, 128, 96).dx);
        let std = (f
            .dx
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            / f.dx.len() as f64)
            .sqrt();
        // theory: alpha / sqrt(3) / (2 sqrt(pi) sigma) = 3.26 px (finite-size fields vary)
        assert!(std > 2.0 && std < 4.5, "{std}");
        // the affine moves the control points by at most 3.6 px
        assert!(
            (f.affine[0] - 1.0).abs() < 0.1 && f.affine[1].abs() < 0.1,
            "{:?}",
            f.affine
        );
    }
}
