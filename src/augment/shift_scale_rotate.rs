//! `ShiftScaleRotate` (albumentations 0.3.1): rotate + isotropic scale about (W/2, H/2), then a
//! sub-pixel shift of (dx*W, dy*H); one `warpAffine` for the image, nearest for the mask.

use super::geometry::{rotation_matrix_2d, warp_affine_into, Affine, BorderMode, Interpolation};
use super::rng::uniform;
use super::scratch::{is_blank_mask, replace_image};
use super::transform::Prob;
use super::ImageU8;
use rand::Rng;

/// albumentations 0.3.1 `ShiftScaleRotate`.
#[derive(Clone, Debug, PartialEq)]
pub struct ShiftScaleRotate {
    /// Range of dx and dy, as fractions of W and H (albumentations `shift_limit`).
    pub shift_limit: (f64, f64),
    /// Range of the scale factor itself (albumentations stores `scale_limit` + 1: `(0.9, 1.1)`).
    pub scale_range: (f64, f64),
    /// Range of the angle in degrees (albumentations `rotate_limit`).
    pub rotate_limit: (f64, f64),
    /// Image interpolation (the mask always uses nearest).
    pub interpolation: Interpolation,
    /// Border for the image (`border_mode` + `value`).
    pub border: BorderMode,
    /// Border for the mask (`border_mode` + `mask_value`).
    pub mask_border: BorderMode,
    /// When it runs.
    pub prob: Prob,
}

/// Parameters of one ShiftScaleRotate application.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SsrParams {
    /// Degrees, counter-clockwise on screen.
    pub angle: f64,
    /// Isotropic scale.
    pub scale: f64,
    /// Shift as a fraction of the width.
    pub dx: f64,
    /// Shift as a fraction of the height.
    pub dy: f64,
}

impl ShiftScaleRotate {
    /// Draws angle, scale, dx, dy in albumentations' order.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SsrParams {
        let angle = uniform(rng, self.rotate_limit.0, self.rotate_limit.1);
        let scale = uniform(rng, self.scale_range.0, self.scale_range.1);
        let dx = uniform(rng, self.shift_limit.0, self.shift_limit.1);
        let dy = uniform(rng, self.shift_limit.0, self.shift_limit.1);
        SsrParams {
            angle,
            scale,
            dx,
            dy,
        }
    }

    /// Warps image and mask with the same matrix.
    pub fn apply(&self, p: &SsrParams, image: &mut ImageU8, mask: Option<&mut ImageU8>) {
        let m = ssr_matrix(p, image.width(), image.height());
        let (w, h) = (image.width(), image.height());
        replace_image(image, w, h, |src, out| {
            warp_affine_into(src, &m, self.interpolation, self.border, out)
        });
        if let Some(mask) = mask.filter(|m| !is_blank_mask(m, self.mask_border)) {
            let (w, h) = (mask.width(), mask.height());
            replace_image(mask, w, h, |src, out| {
                warp_affine_into(src, &m, Interpolation::Nearest, self.mask_border, out)
            });
        }
    }
}

/// The forward matrix of `F.shift_scale_rotate`: `getRotationMatrix2D((W/2, H/2), angle, scale)`
/// with `dx * W` and `dy * H` added to the translation.
pub fn ssr_matrix(p: &SsrParams, width: usize, height: usize) -> Affine {
    let cx = (width as f64 / 2.0) as f32;
    let cy = (height as f64 / 2.0) as f32;
    let mut m = rotation_matrix_2d(cx, cy, p.angle, p.scale);
    m[2] += p.dx * width as f64;
    m[5] += p.dy * height as f64;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_params_are_identity() {
        let t = ShiftScaleRotate {
            shift_limit: (0.0, 0.0),
            scale_range: (1.0, 1.0),
            rotate_limit: (0.0, 0.0),
            interpolation: Interpolation::Linear,
            border: BorderMode::Reflect101,
            mask_border: BorderMode::Reflect101,
            prob: Prob::always(),
        };
        let orig = ImageU8::from_fn(8, 6, |x, y| (x * 30 + y * 3) as u8);
        let mut img = orig.clone();
        let p = t.sample(&mut crate::augment::sample_rng(0, 0, "a"));
        assert_eq!(
            p,
            SsrParams {
                angle: 0.0,
                scale: 1.0,
                dx: 0.0,
                dy: 0.0
            }
        );
        t.apply(&p, &mut img, None);
        assert_eq!(img, orig);
    }

    #[test]
    fn quarter_turn_of_a_square_about_its_centre() {
        // A 90 degree rotation about (W/2, H/2) maps pixel centres onto pixel centres shifted by one
        // (the centre is not (W-1)/2): out(u, v) = in(W - v, u) with reflect-101 at the edge.
        let src = ImageU8::from_fn(4, 4, |x, y| (y * 4 + x) as u8);
        let m = ssr_matrix(
            &SsrParams {
                angle: 90.0,
                scale: 1.0,
                dx: 0.0,
                dy: 0.0,
            },
            4,
            4,
        );
        let mut out = ImageU8::new(4, 4);
        warp_affine_into(
            &src,
            &m,
            Interpolation::Nearest,
            BorderMode::Reflect101,
            &mut out,
        );
        for v in 0..4 {
            for u in 0..4 {
                let sx = 4 - v as i32; // W - v, reflected when 4
                let sx = if sx == 4 { 2 } else { sx } as usize;
                assert_eq!(out.get(u, v), src.get(sx, u), "({u}, {v})");
            }
        }
    }
}
