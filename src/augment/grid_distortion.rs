//! `GridDistortion` (albumentations 0.3.1): a separable map built from `num_steps` linspace cells
//! per axis (shared endpoints; a short tail cell ends exactly at W/H), then remap.

use super::geometry::{remap_separable_into as separable_remap, BorderMode, Interpolation};
use super::rng::uniform;
use super::scratch::{is_blank_mask, replace_image};
use super::transform::Prob;
use super::ImageU8;
use rand::Rng;

/// albumentations 0.3.1 `GridDistortion(num_steps, distort_limit)`.
#[derive(Clone, Debug, PartialEq)]
pub struct GridDistortion {
    /// Cells per axis (the cell length is `len // num_steps`).
    pub num_steps: usize,
    /// Range of `step - 1` for each of the `num_steps + 1` steps per axis.
    pub distort_limit: (f64, f64),
    /// Image interpolation (the mask always uses nearest).
    pub interpolation: Interpolation,
    /// Border for the image.
    pub border: BorderMode,
    /// Border for the mask.
    pub mask_border: BorderMode,
    /// When it runs.
    pub prob: Prob,
}

/// Parameters of one GridDistortion application (`num_steps + 1` factors per axis).
#[derive(Clone, Debug, PartialEq)]
pub struct GridParams {
    /// Horizontal step factors.
    pub stepsx: Vec<f64>,
    /// Vertical step factors.
    pub stepsy: Vec<f64>,
}

impl GridDistortion {
    /// Draws `stepsx` (num_steps + 1 values of `1 + U(limit)`), then `stepsy`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> GridParams {
        let mut draw = || {
            (0..=self.num_steps)
                .map(|_| 1.0 + uniform(rng, self.distort_limit.0, self.distort_limit.1))
                .collect()
        };
        let stepsx = draw();
        let stepsy = draw();
        GridParams { stepsx, stepsy }
    }

    /// Remaps image and mask through the same separable map.
    pub fn apply(&self, p: &GridParams, image: &mut ImageU8, mask: Option<&mut ImageU8>) {
        let (w, h) = (image.width(), image.height());
        let gx = grid_axis(w, self.num_steps, &p.stepsx);
        let gy = grid_axis(h, self.num_steps, &p.stepsy);
        replace_image(image, w, h, |src, out| {
            separable_remap(src, &gx, &gy, self.interpolation, self.border, out)
        });
        if let Some(mask) = mask.filter(|m| !is_blank_mask(m, self.mask_border)) {
            replace_image(mask, w, h, |src, out| {
                separable_remap(src, &gx, &gy, Interpolation::Nearest, self.mask_border, out)
            });
        }
    }
}

/// The float32 source coordinate of every destination index along one axis of length `len`.
///
/// Cells start at `0, step, 2 step, ..` (`step = len // num_steps`); a full cell `i` ends at
/// `cur = prev + step * steps[i]`, a cell that would pass `len` ends at `cur = len`; each cell is
/// `np.linspace(prev, cur, cell_len)` (both endpoints) stored as float32. albumentations raises
/// IndexError when more than `num_steps + 1` full cells fit (e.g. len 14, 5 steps); here the last
/// step factor is reused for those cells instead.
///
/// # Panics
/// If `steps` is empty.
pub fn grid_axis(len: usize, num_steps: usize, steps: &[f64]) -> Vec<f32> {
    assert!(!steps.is_empty(), "grid steps");
    let step = (len / num_steps.max(1)).max(1);
    let mut out = vec![0f32; len];
    let mut prev = 0.0f64;
    let mut start = 0;
    let mut idx = 0;
    while start < len {
        let mut end = start + step;
        let cur = if end > len {
            end = len;
            len as f64
        } else {
            prev + step as f64 * steps[idx.min(steps.len() - 1)]
        };
        linspace_f32(prev, cur, &mut out[start..end]);
        prev = cur;
        start += step;
        idx += 1;
    }
    out
}

/// `np.linspace(start, stop, n)` (float64: `i * step + start`, last element = stop) cast to float32.
fn linspace_f32(start: f64, stop: f64, out: &mut [f32]) {
    let n = out.len();
    if n == 1 {
        out[0] = start as f32;
        return;
    }
    let div = (n - 1) as f64;
    let delta = stop - start;
    let step = delta / div;
    for (i, o) in out.iter_mut().enumerate() {
        let v = if step == 0.0 {
            (i as f64 / div) * delta
        } else {
            i as f64 * step
        };
        *o = (v + start) as f32;
    }
    out[n - 1] = stop as f32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_steps_with_tail_cell() {
        // len 12, 5 steps: cells of 2 at 0,2,4,6,8 (full, factor 1) and 10 (full too: 10 + 2 = 12)
        let g = grid_axis(12, 5, &[1.0; 6]);
        // each full cell is linspace(prev, prev + 2, 2) = [prev, prev + 2]
        assert_eq!(
            g,
            vec![0.0, 2.0, 2.0, 4.0, 4.0, 6.0, 6.0, 8.0, 8.0, 10.0, 10.0, 12.0]
        );
        // len 13: the 7th cell [12, 13) is a tail of one pixel: linspace(prev, 13, 1) = [prev]
        let g = grid_axis(13, 5, &[1.0; 6]);
        assert_eq!(g[12], 12.0);
        // len 11: tail [10, 11) of 1 pixel at prev = 10
        let g = grid_axis(11, 5, &[1.0; 6]);
        assert_eq!(g[10], 10.0);
    }

    #[test]
    fn tail_cell_ends_exactly_at_len() {
        // 1024 / 5 = 204: five cells then [1020, 1024) from prev to 1024
        let g = grid_axis(1024, 5, &[1.1, 0.9, 1.2, 0.8, 1.0, 1.3]);
        assert_eq!(g[1023], 1024.0);
        assert_eq!(g[203], g[204]); // shared endpoint
    }
}
