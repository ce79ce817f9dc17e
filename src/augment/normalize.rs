//! `Normalize` and the ToTensor scaling: uint8 grey -> 3-channel float32 CHW network input.
//!
//! albumentations 0.3.1 `F.normalize` on the solution's 3-channel BGR copy of a grey image:
//! `out_c = (float32(x) - float32(mean_c) * max) * (1 / (float32(std_c) * max))`, all float32, channel
//! `c` using entry `c` of the (RGB-ordered) lists; since every output value depends only on the
//! input byte, it is a 256-entry table per channel. Without Normalize (the `_old` pipelines)
//! `albumentations.pytorch.ToTensor` divides by 255 in float64 and casts to float32.

use super::transform::Prob;
use super::ImageU8;

/// albumentations `Normalize(mean, std, max_pixel_value)`, applied at batch time.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalize {
    /// Per-channel means (a single value is broadcast).
    pub mean: Vec<f64>,
    /// Per-channel standard deviations (a single value is broadcast).
    pub std: Vec<f64>,
    /// Pixel value that maps to 1.0 before mean/std.
    pub max_pixel_value: f64,
    /// When it runs (must be 1 in a pipeline).
    pub prob: Prob,
}

impl Normalize {
    /// The ImageNet statistics of the solution's JSONs.
    pub fn imagenet() -> Self {
        Self {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
            max_pixel_value: 255.0,
            prob: Prob {
                p: 1.0,
                always_apply: false,
            },
        }
    }

    /// float32 `(mean_c * max, 1 / (std_c * max))` of channel `c`.
    fn affine(&self, c: usize) -> (f32, f32) {
        let pick = |v: &[f64]| v[c.min(v.len() - 1)] as f32;
        let max = self.max_pixel_value as f32;
        (pick(&self.mean) * max, 1.0f32 / (pick(&self.std) * max))
    }

    /// Lookup table of channel `c`.
    pub fn table(&self, c: usize) -> [f32; 256] {
        let (mean, den) = self.affine(c);
        std::array::from_fn(|i| (i as f32 - mean) * den)
    }

    /// Writes `channels x H x W` float32 (CHW) into `out`: `(float32(x) - mean) * den` per
    /// plane, the same float32 operations as [`Normalize::table`] (evaluated in SIMD instead
    /// of a per-pixel table lookup).
    ///
    /// # Panics
    /// If `out.len() != channels * width * height`.
    pub fn apply_into(&self, image: &ImageU8, channels: usize, out: &mut [f32]) {
        let n = image.data().len();
        assert_eq!(out.len(), n * channels, "CHW output size");
        for (c, plane) in out.chunks_exact_mut(n.max(1)).enumerate() {
            let (mean, den) = self.affine(c);
            normalize_plane(image.data(), mean, den, plane);
        }
    }
}

fn normalize_plane(src: &[u8], mean: f32, den: f32, out: &mut [f32]) {
    #[inline(always)]
    fn body(src: &[u8], mean: f32, den: f32, out: &mut [f32]) {
        for (o, &v) in out.iter_mut().zip(src) {
            *o = (f32::from(v) - mean) * den;
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn body_avx2(src: &[u8], mean: f32, den: f32, out: &mut [f32]) {
            body(src, mean, den, out);
        }
        if super::cpu::avx2() {
            // SAFETY: AVX2 is available.
            unsafe { body_avx2(src, mean, den, out) };
            return;
        }
    }
    body(src, mean, den, out);
}

/// ToTensor for a uint8 image without Normalize: `float32(x / 255.0)` into `channels` CHW planes.
///
/// # Panics
/// If `out.len() != channels * width * height`.
pub fn to_unit_into(image: &ImageU8, channels: usize, out: &mut [f32]) {
    let t = unit_table();
    write_chw(image, &vec![t; channels], out);
}

/// `float32(v / 255.0)` for every byte (also the ToTensor rule for uint8 masks).
pub fn unit_table() -> [f32; 256] {
    std::array::from_fn(|i| (i as f64 / 255.0) as f32)
}

fn write_chw(image: &ImageU8, tables: &[[f32; 256]], out: &mut [f32]) {
    let n = image.data().len();
    assert_eq!(out.len(), n * tables.len(), "CHW output size");
    for (plane, t) in out.chunks_exact_mut(n.max(1)).zip(tables) {
        for (o, &v) in plane.iter_mut().zip(image.data()) {
            *o = t[usize::from(v)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imagenet_channel_order_and_values() {
        let img = ImageU8::from_vec(2, 1, vec![0, 255]).unwrap();
        let mut out = vec![0.0; 6];
        Normalize::imagenet().apply_into(&img, 3, &mut out);
        let want0 = (0.0f32 - 0.485f32 * 255.0) * (1.0f32 / (0.229f32 * 255.0));
        assert_eq!(out[0], want0);
        assert!((out[1] - (1.0 - 0.485) / 0.229).abs() < 1e-5);
        assert!((out[5] - (1.0 - 0.406) / 0.225).abs() < 1e-5);
    }

    #[test]
    fn arithmetic_planes_equal_the_tables() {
        let img = ImageU8::from_fn(256, 3, |x, _| x as u8);
        let n = Normalize {
            mean: vec![0.3, 0.45],
            std: vec![0.2, 0.31],
            max_pixel_value: 251.0,
            ..Normalize::imagenet()
        };
        let mut out = vec![0.0; 3 * 768];
        n.apply_into(&img, 3, &mut out);
        for c in 0..3 {
            let t = n.table(c);
            for (i, &v) in out[c * 768..(c + 1) * 768].iter().enumerate() {
                assert_eq!(
                    v.to_bits(),
                    t[i % 256].to_bits(),
                    "channel {c} value {}",
                    i % 256
                );
            }
        }
    }

    #[test]
    fn scalar_planes_equal_the_dispatched_planes_bitwise() {
        let n = Normalize {
            mean: vec![0.3, 0.45, 0.5],
            std: vec![0.2, 0.31, 0.17],
            max_pixel_value: 251.0,
            ..Normalize::imagenet()
        };
        for (w, h) in [(1, 1), (7, 3), (256, 3), (333, 5)] {
            let img = ImageU8::from_fn(w, h, |x, y| (x * 13 + y * 7) as u8);
            let (mut simd, mut scalar) = (vec![0f32; 3 * w * h], vec![0f32; 3 * w * h]);
            n.apply_into(&img, 3, &mut simd);
            crate::augment::cpu::with_scalar(|| n.apply_into(&img, 3, &mut scalar));
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&simd), bits(&scalar), "{w}x{h}");
        }
    }

    #[test]
    fn unit_scaling() {
        let img = ImageU8::from_vec(1, 1, vec![51]).unwrap();
        let mut out = vec![0.0; 3];
        to_unit_into(&img, 3, &mut out);
        assert_eq!(out, vec![0.2f32; 3]);
    }
}
