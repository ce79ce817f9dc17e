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

    /// Lookup table of channel `c`.
    pub fn table(&self, c: usize) -> [f32; 256] {
        let pick = |v: &[f64]| v[c.min(v.len() - 1)] as f32;
        let max = self.max_pixel_value as f32;
        let mean = pick(&self.mean) * max;
        let den = 1.0f32 / (pick(&self.std) * max);
        std::array::from_fn(|i| (i as f32 - mean) * den)
    }

    /// Writes `channels x H x W` float32 (CHW) into `out`.
    ///
    /// # Panics
    /// If `out.len() != channels * width * height`.
    pub fn apply_into(&self, image: &ImageU8, channels: usize, out: &mut [f32]) {
        let tables: Vec<[f32; 256]> = (0..channels).map(|c| self.table(c)).collect();
        write_chw(image, &tables, out);
    }
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
    fn unit_scaling() {
        let img = ImageU8::from_vec(1, 1, vec![51]).unwrap();
        let mut out = vec![0.0; 3];
        to_unit_into(&img, 3, &mut out);
        assert_eq!(out, vec![0.2f32; 3]);
    }
}
