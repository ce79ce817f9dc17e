//! Resizing of ingested images and masks whose size differs from the dataset's target size.
//!
//! Images: bilinear with half-pixel-centre alignment (`sx = (u + 0.5) * in/out - 0.5`), edges
//! replicated, result rounded to nearest. This is skimage's `resize(order=1)` without
//! anti-aliasing, which is what the solution's `prepare_png.py` ran (skimage 0.14.2).
//! Masks: nearest neighbour at the pixel centre (`src = floor((u + 0.5) * in/out)`), so labels
//! stay binary.
//!
//! Every size must be at least 1 and the source buffer must hold exactly `ih × iw` bytes (products
//! checked for overflow); anything else is a [`ResizeError`], never a panic.

use thiserror::Error;

/// Sizes that cannot be resized between.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("cannot resize {ih}x{iw} to {oh}x{ow}: {problem}")]
pub struct ResizeError {
    /// Source height.
    pub ih: usize,
    /// Source width.
    pub iw: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
    /// What is wrong (a zero side, an overflowing product, a buffer of the wrong length).
    pub problem: String,
}

/// Checks the sizes of a resize of `src` from `ih×iw` to `oh×ow`; returns the output length.
fn check(src: &[u8], ih: usize, iw: usize, oh: usize, ow: usize) -> Result<usize, ResizeError> {
    let err = |problem: String| ResizeError {
        ih,
        iw,
        oh,
        ow,
        problem,
    };
    if ih == 0 || iw == 0 || oh == 0 || ow == 0 {
        return Err(err("every side must be at least 1 pixel".into()));
    }
    let n_in = ih
        .checked_mul(iw)
        .ok_or_else(|| err("the source size overflows".into()))?;
    if src.len() != n_in {
        return Err(err(format!(
            "the source buffer has {} bytes, expected {ih}x{iw} = {n_in}",
            src.len()
        )));
    }
    oh.checked_mul(ow)
        .ok_or_else(|| err("the output size overflows".into()))
}

/// Bilinear resize of a row-major `u8` image from `ih×iw` to `oh×ow`.
pub fn resize_bilinear(
    src: &[u8],
    ih: usize,
    iw: usize,
    oh: usize,
    ow: usize,
) -> Result<Vec<u8>, ResizeError> {
    let n_out = check(src, ih, iw, oh, ow)?;
    if ih == oh && iw == ow {
        return Ok(src.to_vec());
    }
    let axis = |n_in: usize, n_out: usize| -> Vec<(usize, usize, f32)> {
        let scale = n_in as f64 / n_out as f64;
        (0..n_out)
            .map(|o| {
                let s = ((o as f64 + 0.5) * scale - 0.5).clamp(0.0, (n_in - 1) as f64);
                let i0 = s.floor() as usize;
                let i1 = (i0 + 1).min(n_in - 1);
                (i0, i1, (s - i0 as f64) as f32)
            })
            .collect()
    };
    let (xs, ys) = (axis(iw, ow), axis(ih, oh));
    let mut out = vec![0u8; n_out];
    for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
        let (r0, r1) = (&src[y0 * iw..(y0 + 1) * iw], &src[y1 * iw..(y1 + 1) * iw]);
        for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
            let top = r0[x0] as f32 * (1.0 - fx) + r0[x1] as f32 * fx;
            let bot = r1[x0] as f32 * (1.0 - fx) + r1[x1] as f32 * fx;
            out[oy * ow + ox] = (top * (1.0 - fy) + bot * fy).round().clamp(0.0, 255.0) as u8;
        }
    }
    Ok(out)
}

/// Nearest-neighbour resize of a row-major `u8` mask from `ih×iw` to `oh×ow`.
pub fn resize_nearest(
    src: &[u8],
    ih: usize,
    iw: usize,
    oh: usize,
    ow: usize,
) -> Result<Vec<u8>, ResizeError> {
    let n_out = check(src, ih, iw, oh, ow)?;
    if ih == oh && iw == ow {
        return Ok(src.to_vec());
    }
    let idx =
        |o: usize, n_in: usize, n_out: usize| (((2 * o + 1) * n_in) / (2 * n_out)).min(n_in - 1);
    let xs: Vec<usize> = (0..ow).map(|o| idx(o, iw, ow)).collect();
    let mut out = Vec::with_capacity(n_out);
    for oy in 0..oh {
        let row = &src[idx(oy, ih, oh) * iw..][..iw];
        out.extend(xs.iter().map(|&x| row[x]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_mismatched_sizes_are_errors() {
        let e = resize_bilinear(&[], 0, 0, 4, 4).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot resize 0x0 to 4x4: every side must be at least 1 pixel"
        );
        assert!(resize_nearest(&[1, 2, 3], 2, 2, 1, 1)
            .unwrap_err()
            .problem
            .contains("3 bytes, expected 2x2 = 4"));
        assert!(resize_nearest(&[1], 1, 1, 0, 5).is_err());
        assert!(resize_bilinear(&[1], 1, 1, usize::MAX, 2)
            .unwrap_err()
            .problem
            .contains("overflows"));
        assert!(resize_bilinear(&[1], usize::MAX, 2, 1, 1).is_err());
    }

    #[test]
    fn same_size_is_copy() {
        let img: Vec<u8> = (0..12).collect();
        assert_eq!(resize_bilinear(&img, 3, 4, 3, 4).unwrap(), img);
        assert_eq!(resize_nearest(&img, 3, 4, 3, 4).unwrap(), img);
    }

    #[test]
    fn downscale_by_two_averages_pairs() {
        // 1x4 -> 1x2: samples at 0.5 and 2.5 -> mean of pairs.
        assert_eq!(
            resize_bilinear(&[0, 10, 20, 40], 1, 4, 1, 2).unwrap(),
            vec![5, 30]
        );
    }

    #[test]
    fn upscale_replicates_edges_and_interpolates() {
        // 1x2 -> 1x4: sx = -0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped 1).
        assert_eq!(
            resize_bilinear(&[0, 100], 1, 2, 1, 4).unwrap(),
            vec![0, 25, 75, 100]
        );
    }

    #[test]
    fn nearest_keeps_labels_binary() {
        let m = vec![0, 255, 255, 0];
        let out = resize_nearest(&m, 2, 2, 4, 4).unwrap();
        assert!(out.iter().all(|&v| v == 0 || v == 255));
        assert_eq!(&out[0..4], &[0, 0, 255, 255]);
        assert_eq!(resize_nearest(&out, 4, 4, 2, 2).unwrap(), m);
    }
}
