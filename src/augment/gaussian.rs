//! `scipy.ndimage.gaussian_filter(x, sigma, mode='reflect', truncate=4.0)` on 2-D float64, in
//! scipy 1.10's operation order (so the float32 fields of ElasticTransform come out identical).
//!
//! scipy builds the kernel `phi = exp(-0.5 / sigma^2 * k^2)`, `k = -r..=r`, `r = int(4 sigma + 0.5)`,
//! normalised by numpy's pairwise sum, and `NI_Correlate1D` evaluates each output as
//! `in[0] * w[0]`, then `+= (in[-d] + in[d]) * w[d]` for `d = r, r-1, .., 1` (symmetric kernel),
//! along axis 0 and then axis 1, with 'reflect' = half-sample symmetric borders (`dcba|abcd|dcba`).
//! Each output element is computed with exactly that sequence of IEEE operations; only the order
//! in which *different* elements are computed changes (row-wise, so the loops vectorise).

use super::geometry::{border_index, BorderMode};

/// scipy's `_gaussian_kernel1d(sigma, 0, radius)` with `radius = int(truncate * sigma + 0.5)`.
/// Returns the `2r + 1` weights (symmetric).
pub fn gaussian_kernel(sigma: f64, truncate: f64) -> Vec<f64> {
    let radius = (truncate * sigma + 0.5) as i64;
    let c = -0.5 / (sigma * sigma);
    let phi: Vec<f64> = (-radius..=radius)
        .map(|k| (c * (k * k) as f64).exp())
        .collect();
    let sum = numpy_pairwise_sum(&phi);
    phi.iter().map(|v| v / sum).collect()
}

/// numpy's `pairwise_sum` for float64 (8 accumulators below 128 elements, halving above).
fn numpy_pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        numpy_pairwise_sum(&a[..n2]) + numpy_pairwise_sum(&a[n2..])
    }
}

/// Reusable buffers for [`gaussian_filter_into`] (one padded row).
#[derive(Default)]
pub struct GaussianScratch {
    padded: Vec<f64>,
    vertical: Vec<f64>,
}

/// `gaussian_filter(input, sigma)` for a row-major `height x width` float64 array.
pub fn gaussian_filter(input: &[f64], width: usize, height: usize, sigma: f64) -> Vec<f64> {
    let mut out = vec![0.0; input.len()];
    gaussian_filter_into(
        input,
        width,
        height,
        &gaussian_kernel(sigma, 4.0),
        &mut out,
        &mut GaussianScratch::default(),
    );
    out
}

/// [`gaussian_filter`] with a precomputed kernel and caller-owned buffers.
///
/// # Panics
/// If `input` or `out` is not `width * height` long, or the kernel length is even.
pub fn gaussian_filter_into(
    input: &[f64],
    width: usize,
    height: usize,
    kernel: &[f64],
    out: &mut [f64],
    scratch: &mut GaussianScratch,
) {
    gaussian_filter_rows(input, width, height, kernel, scratch, |y, row| {
        out[y * width..(y + 1) * width].copy_from_slice(row);
    });
}

/// The filter, delivering each finished output row to `emit(y, row)` (lets ElasticTransform turn
/// rows into float32 maps without storing the float64 result).
///
/// # Panics
/// If `input` is not `width * height` long or the kernel length is even.
pub(crate) fn gaussian_filter_rows(
    input: &[f64],
    width: usize,
    height: usize,
    kernel: &[f64],
    scratch: &mut GaussianScratch,
    mut emit: impl FnMut(usize, &[f64]),
) {
    assert_eq!(input.len(), width * height, "gaussian_filter input size");
    assert!(kernel.len() % 2 == 1, "gaussian kernel length must be odd");
    let r = kernel.len() / 2;
    let w = &kernel[r..]; // w[d] for d = 0..=r (symmetric)
    scratch.padded.resize(width + 2 * r, 0.0);
    scratch.vertical.resize(width, 0.0);
    let GaussianScratch { padded, vertical } = scratch;
    let row = |i: i64| {
        let i = border_index(i as i32, height, BorderMode::Reflect).unwrap_or(0);
        &input[i * width..(i + 1) * width]
    };
    let mut lo: Vec<&[f64]> = Vec::with_capacity(r);
    let mut hi: Vec<&[f64]> = Vec::with_capacity(r);
    for y in 0..height {
        // axis 0 (vertical) for row y: lo[d - 1] = row y - d, hi[d - 1] = row y + d
        lo.clear();
        hi.clear();
        for d in 1..=r as i64 {
            lo.push(row(y as i64 - d));
            hi.push(row(y as i64 + d));
        }
        correlate(vertical, row(y as i64), &lo, &hi, w);
        // axis 1 (horizontal) on the vertically filtered row, padded by r reflected values per side
        let p = &mut padded[..];
        p[r..r + width].copy_from_slice(vertical);
        for d in 1..=r {
            p[r - d] = vertical[border_index(-(d as i32), width, BorderMode::Reflect).unwrap_or(0)];
            p[r + width - 1 + d] = vertical
                [border_index((width - 1 + d) as i32, width, BorderMode::Reflect).unwrap_or(0)];
        }
        let p = &padded[..];
        let hlo: Vec<&[f64]> = (1..=r).map(|d| &p[r - d..r - d + width]).collect();
        let hhi: Vec<&[f64]> = (1..=r).map(|d| &p[r + d..r + d + width]).collect();
        correlate(vertical, &p[r..r + width], &hlo, &hhi, w);
        emit(y, vertical);
    }
}

/// `out[x] = centre[x] * w[0]`, then `out[x] += (lo[d-1][x] + hi[d-1][x]) * w[d]` for
/// `d = r, .., 1`: NI_Correlate1D's symmetric loop, element by element in that exact order.
fn correlate(out: &mut [f64], centre: &[f64], lo: &[&[f64]], hi: &[&[f64]], w: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if super::cpu::avx2() {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { correlate_avx2(out, centre, lo, hi, w) };
            return;
        }
    }
    correlate_blocked(out, centre, lo, hi, w);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn correlate_avx2(out: &mut [f64], centre: &[f64], lo: &[&[f64]], hi: &[&[f64]], w: &[f64]) {
    correlate_blocked(out, centre, lo, hi, w);
}

const BLOCK: usize = 64;

/// Register-blocked evaluation: a block of outputs is accumulated across all taps (no FMA: the
/// multiply and the add round separately, as in scipy).
#[inline(always)]
fn correlate_blocked(out: &mut [f64], centre: &[f64], lo: &[&[f64]], hi: &[&[f64]], w: &[f64]) {
    let n = out.len();
    let r = lo.len();
    let mut x = 0;
    while x + BLOCK <= n {
        let mut acc = [0.0f64; BLOCK];
        let c = &centre[x..x + BLOCK];
        for j in 0..BLOCK {
            acc[j] = c[j] * w[0];
        }
        for d in (1..=r).rev() {
            let a = &lo[d - 1][x..x + BLOCK];
            let b = &hi[d - 1][x..x + BLOCK];
            let wd = w[d];
            for j in 0..BLOCK {
                acc[j] += (a[j] + b[j]) * wd;
            }
        }
        out[x..x + BLOCK].copy_from_slice(&acc);
        x += BLOCK;
    }
    for xi in x..n {
        let mut acc = centre[xi] * w[0];
        for d in (1..=r).rev() {
            acc += (lo[d - 1][xi] + hi[d - 1][xi]) * w[d];
        }
        out[xi] = acc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scipy's NI_Correlate1D on one line, transcribed literally (extension then symmetric loop).
    fn correlate1d_reference(line: &[f64], w: &[f64]) -> Vec<f64> {
        let r = w.len() / 2;
        let n = line.len();
        let ext = |p: i64| line[border_index(p as i32, n, BorderMode::Reflect).unwrap()];
        (0..n as i64)
            .map(|i| {
                let mut o = ext(i) * w[r];
                for jj in -(r as i64)..0 {
                    o += (ext(i + jj) + ext(i - jj)) * w[(r as i64 + jj) as usize];
                }
                o
            })
            .collect()
    }

    #[test]
    fn kernel_is_normalised_symmetric_and_has_scipy_radius() {
        let k = gaussian_kernel(6.0, 4.0);
        assert_eq!(k.len(), 49);
        for i in 0..24 {
            assert_eq!(k[i], k[48 - i]);
        }
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(gaussian_kernel(2.5, 4.0).len(), 21);
    }

    #[test]
    fn separable_rows_equal_literal_correlate1d_bitwise() {
        let (w, h) = (11, 7); // smaller than the kernel: repeated reflection
        let input: Vec<f64> = (0..w * h)
            .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
            .collect();
        let k = gaussian_kernel(1.7, 4.0);
        let got = gaussian_filter_with(&input, w, h, &k);
        let mut cols = vec![0.0; w * h];
        for x in 0..w {
            let col: Vec<f64> = (0..h).map(|y| input[y * w + x]).collect();
            for (y, v) in correlate1d_reference(&col, &k).into_iter().enumerate() {
                cols[y * w + x] = v;
            }
        }
        for y in 0..h {
            let want = correlate1d_reference(&cols[y * w..(y + 1) * w], &k);
            assert_eq!(&got[y * w..(y + 1) * w], &want[..], "row {y}");
        }
    }

    fn gaussian_filter_with(input: &[f64], w: usize, h: usize, k: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; w * h];
        gaussian_filter_into(input, w, h, k, &mut out, &mut GaussianScratch::default());
        out
    }

    #[test]
    fn scalar_filter_equals_the_dispatched_filter_bitwise() {
        // widths around the 64-column blocks, heights below and above the kernel
        for (w, h, sigma) in [(11, 7, 1.7), (64, 5, 3.0), (130, 41, 6.0), (257, 3, 0.8)] {
            let input: Vec<f64> = (0..w * h)
                .map(|i| ((i * 7919 % 1013) as f64 / 506.0) - 1.0)
                .collect();
            let simd = gaussian_filter(&input, w, h, sigma);
            let scalar = crate::augment::cpu::with_scalar(|| gaussian_filter(&input, w, h, sigma));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&simd), bits(&scalar), "{w}x{h} sigma {sigma}");
            // the row delivery path too
            let k = gaussian_kernel(sigma, 4.0);
            let mut rows = vec![0.0; w * h];
            crate::augment::cpu::with_scalar(|| {
                gaussian_filter_rows(&input, w, h, &k, &mut GaussianScratch::default(), |y, r| {
                    rows[y * w..(y + 1) * w].copy_from_slice(r)
                })
            });
            assert_eq!(bits(&rows), bits(&simd), "{w}x{h} sigma {sigma} rows");
        }
    }

    #[test]
    fn pairwise_sum_matches_blocked_order() {
        let a: Vec<f64> = (0..49).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        for i in (8..48).step_by(8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
        }
        let want = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])) + a[48];
        assert_eq!(numpy_pairwise_sum(&a), want);
    }
}
