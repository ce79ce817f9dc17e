//! `ElasticTransform` (albumentations 0.3.1, `approximate=False`): a random 3-point affine
//! pre-warp, then two Gaussian-smoothed uniform displacement fields and a remap.
//!
//! The seed (`randint(0, 10000)`) feeds a NumPy `RandomState` ([`RandomState`]) that draws the
//! six affine offsets, so the pre-warp matrix equals albumentations' for the same seed. The
//! displacement fields come from one of two generators ([`ElasticFieldMode`]):
//! - `Fast` (default): float32 fields with the same distribution (uniform noise on `[-1, 1)`,
//!   the same Gaussian kernel and borders, times alpha) from a fast generator keyed by the seed,
//!   produced row by row while the image is warped (`elastic_fields.rs`). Distribution-equivalent,
//!   not draw-identical to numpy.
//! - `Numpy`: the `RandomState` continues with the two `H x W` noise fields, smoothed by
//!   [`gaussian_filter`](super::gaussian) in scipy's operation order: a seed reproduces
//!   albumentations' fields bit for bit (about 6x slower).
//!
//! Given the fields, the warp is OpenCV-exact in both modes ([`ElasticTransform::apply_fields`]).
//! Reference: albumentations/augmentations/functional.py `elastic_transform`.

use super::elastic_fields::{fast_fields, FieldBuffers, FieldStream};
use super::gaussian::{gaussian_filter_rows, gaussian_kernel, GaussianScratch};
use super::geometry::{
    affine_from_points, warp_affine_into, Affine, BorderMode, Interpolation, RowSampler,
};
use super::mt19937::RandomState;
use super::rng::randint;
use super::scratch::{is_blank_mask, replace_image};
use super::transform::Prob;
use super::ImageU8;
use rand::Rng;
use std::cell::RefCell;

/// Where ElasticTransform's displacement fields come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ElasticFieldMode {
    /// Fast float32 generator, same distribution as albumentations' (TOML `fields = "fast"`).
    #[default]
    Fast,
    /// numpy `RandomState` + scipy `gaussian_filter`, bit-identical to albumentations 0.3.1 for
    /// the same seed (TOML `fields = "numpy"`).
    Numpy,
}

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
    /// pneumoflow extension: the displacement-field generator.
    pub fields: ElasticFieldMode,
    /// When it runs.
    pub prob: Prob,
}

/// Parameters of one ElasticTransform application: the field seed.
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
    stream: FieldBuffers,
    rows: [Vec<f32>; 2],
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

    /// The affine pre-warp and the fields that `seed` gives for a `width x height` image
    /// (with this transform's [`ElasticFieldMode`]; `apply` uses exactly these).
    pub fn fields(&self, seed: u32, width: usize, height: usize) -> ElasticFields {
        match self.fields {
            ElasticFieldMode::Numpy => {
                let mut s = Scratch::default();
                let affine = self.numpy_fields_into(seed, width, height, &mut s);
                ElasticFields {
                    width,
                    height,
                    affine,
                    dx: s.dx,
                    dy: s.dy,
                }
            }
            ElasticFieldMode::Fast => {
                let affine = self.random_affine(&mut RandomState::new(seed), width, height);
                let (dx, dy) = fast_fields(seed, self.alpha, self.sigma, width, height);
                ElasticFields {
                    width,
                    height,
                    affine,
                    dx,
                    dy,
                }
            }
        }
    }

    fn numpy_fields_into(&self, seed: u32, width: usize, height: usize, s: &mut Scratch) -> Affine {
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
            let s = &mut *s;
            match self.fields {
                ElasticFieldMode::Numpy => {
                    let affine = self.numpy_fields_into(p.seed, w, h, s);
                    let (dx, dy) = (&s.dx, &s.dy);
                    self.warp(&affine, image, mask, &mut s.rows, |y, rx, ry| {
                        rx.copy_from_slice(&dx[y * w..(y + 1) * w]);
                        ry.copy_from_slice(&dy[y * w..(y + 1) * w]);
                    });
                }
                ElasticFieldMode::Fast => {
                    let affine = self.random_affine(&mut RandomState::new(p.seed), w, h);
                    let mut fs =
                        FieldStream::new(p.seed, self.alpha, self.sigma, w, h, &mut s.stream);
                    self.warp(&affine, image, mask, &mut s.rows, |y, rx, ry| {
                        fs.row(y, rx, ry)
                    });
                }
            }
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
        let w = f.width;
        let mut rows = [vec![0f32; w], vec![0f32; w]];
        self.warp(&f.affine, image, mask, &mut rows, |y, rx, ry| {
            rx.copy_from_slice(&f.dx[y * w..(y + 1) * w]);
            ry.copy_from_slice(&f.dy[y * w..(y + 1) * w]);
        });
    }

    /// Pre-warps image and mask with `affine`, then remaps both through
    /// `(u + dx, v + dy)`, taking the field rows from `field_row(v, dx_row, dy_row)` in order.
    fn warp(
        &self,
        affine: &Affine,
        image: &mut ImageU8,
        mask: Option<&mut ImageU8>,
        rows: &mut [Vec<f32>; 2],
        mut field_row: impl FnMut(usize, &mut [f32], &mut [f32]),
    ) {
        let (w, h) = (image.width(), image.height());
        let prewarp = |img: &mut ImageU8, interp: Interpolation, border: BorderMode| {
            replace_image(img, w, h, |src, out| {
                warp_affine_into(src, affine, interp, border, out)
            });
        };
        let [rx, ry] = rows;
        rx.resize(w, 0.0);
        ry.resize(w, 0.0);
        prewarp(image, self.interpolation, self.border);
        match mask.filter(|m| !is_blank_mask(m, self.mask_border)) {
            None => replace_image(image, w, h, |src, out| {
                let mut rs = RowSampler::new(src, self.interpolation, self.border);
                for v in 0..h {
                    field_row(v, rx, ry);
                    rs.displace(rx, ry, v, out.row_mut(v));
                }
            }),
            Some(m) => {
                assert_eq!((m.width(), m.height()), (w, h), "mask size");
                prewarp(m, Interpolation::Nearest, self.mask_border);
                replace_image(image, w, h, |src, out| {
                    replace_image(m, w, h, |msrc, mout| {
                        let mut rs = RowSampler::new(src, self.interpolation, self.border);
                        let mut ms =
                            RowSampler::new(msrc, Interpolation::Nearest, self.mask_border);
                        for v in 0..h {
                            field_row(v, rx, ry);
                            rs.displace(rx, ry, v, out.row_mut(v));
                            ms.displace(rx, ry, v, mout.row_mut(v));
                        }
                    })
                })
            }
        }
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
            fields: ElasticFieldMode::Numpy,
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

    #[test]
    fn streamed_fields_equal_materialised_fields_in_both_modes() {
        // `apply` (fields streamed row by row for the fast mode) must equal `apply_fields` on
        // the fields `fields()` returns; small sizes have fewer rows than the kernel.
        for (w, h) in [(64, 48), (131, 97), (9, 5)] {
            let img = ImageU8::from_fn(w, h, |x, y| ((x * 37 + y * 11 + x * y) % 256) as u8);
            let mask = ImageU8::from_fn(w, h, |x, y| if x > w / 3 && y < h / 2 { 255 } else { 0 });
            for mode in [ElasticFieldMode::Fast, ElasticFieldMode::Numpy] {
                let t = ElasticTransform {
                    fields: mode,
                    ..elastic(3.6)
                };
                for seed in [0, 17, 10_000] {
                    let (mut a, mut am) = (img.clone(), mask.clone());
                    t.apply(&ElasticParams { seed }, &mut a, Some(&mut am));
                    let (mut b, mut bm) = (img.clone(), mask.clone());
                    t.apply_fields(&t.fields(seed, w, h), &mut b, Some(&mut bm));
                    assert!(a == b && am == bm, "{w}x{h} {mode:?} seed {seed}");
                    assert_ne!(a, img);
                }
            }
        }
        // the fast fields keep numpy's affine pre-warp for the same seed
        let fast = ElasticTransform {
            fields: ElasticFieldMode::Fast,
            ..elastic(3.6)
        };
        assert_eq!(
            fast.fields(5, 40, 30).affine,
            elastic(3.6).fields(5, 40, 30).affine
        );
    }
}
