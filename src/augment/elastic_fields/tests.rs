//! The fast field generator: uniform draws, SIMD = scalar bits, the smoothing against the
//! float64 scipy-order filter on the generator's own noise, determinism.

use super::*;
use crate::augment::cpu;
use crate::augment::gaussian::gaussian_filter;

#[test]
fn noise_is_uniform_on_the_symmetric_interval() {
    let mut v = vec![0f32; 80_000];
    Xoshiro8::new(7).fill(&mut v, simd_level() >= Simd::Avx2);
    let mut s = vec![0f32; 80_000];
    Xoshiro8::new(7).fill_scalar(&mut s);
    assert_eq!(v, s, "SIMD and scalar draws");
    assert!(v.iter().all(|&x| (-1.0..1.0).contains(&x)));
    let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / v.len() as f64;
    // uniform[-1, 1): mean 0 (sd of the estimate 0.002), variance 1/3
    assert!(mean.abs() < 0.01, "{mean}");
    assert!((var - 1.0 / 3.0).abs() < 0.01, "{var}");
    let mut hist = [0usize; 10];
    for &x in &v {
        hist[((x + 1.0) * 5.0) as usize] += 1;
    }
    assert!(
        hist.iter().all(|&c| (7_600..8_400).contains(&c)),
        "{hist:?}"
    );
    // lanes are independent streams: lag-8 (same lane) and lag-1 (next lane) correlations ~ 0
    for lag in [1, 8] {
        let c: f64 = v
            .windows(lag + 1)
            .map(|p| f64::from(p[0]) * f64::from(p[lag]))
            .sum();
        let c = c / (v.len() - lag) as f64 / var;
        assert!(c.abs() < 0.02, "lag {lag}: {c}");
    }
}

/// [`fast_fields`] running at most the kernels of `level`.
fn fields_at(level: Simd, sigma: f64, w: usize, h: usize) -> (Vec<f32>, Vec<f32>) {
    let mut bufs = FieldBuffers::default();
    let mut s = FieldStream::new(3, 50.0, sigma, w, h, &mut bufs).with_level(level);
    let (mut dx, mut dy) = (vec![0f32; w * h], vec![0f32; w * h]);
    for y in 0..h {
        s.row(y, &mut dx[y * w..(y + 1) * w], &mut dy[y * w..(y + 1) * w]);
    }
    (dx, dy)
}

#[test]
fn simd_and_scalar_fields_are_bit_identical() {
    // widths around the 2 / 8 / 16 / 32 / 64-column steps, heights around the 8-row groups,
    // tiny kernels; every kernel level this CPU has against the scalar reference
    for (w, h, sigma) in [
        (77, 23, 6.0),
        (64, 64, 2.0),
        (33, 9, 0.1),
        (8, 1, 1.0),
        (41, 17, 3.3),
        (143, 12, 6.0),
        (3, 5, 2.0),
        (100, 20, 9.0),
        (18, 11, 4.0),
    ] {
        let scalar = cpu::with_scalar(|| {
            assert_eq!(simd_level(), Simd::Scalar);
            fast_fields(3, 50.0, sigma, w, h)
        });
        assert!(scalar == fields_at(Simd::Scalar, sigma, w, h));
        // the dispatched stream (the best level of this CPU)
        assert!(
            fast_fields(3, 50.0, sigma, w, h) == scalar,
            "{w}x{h} sigma {sigma}"
        );
        for level in [Simd::Avx2, Simd::Avx512] {
            if simd_level() >= level {
                let got = fields_at(level, sigma, w, h);
                assert!(got == scalar, "{level:?} {w}x{h} sigma {sigma}");
            }
        }
    }
}

#[test]
fn stream_smooths_its_own_noise_like_the_float64_filter() {
    // Re-draw the stream's noise (lane j = row 8g + j) and filter it with the scipy-order
    // float64 filter: the float32 fields must agree to float32 rounding. This pins the
    // kernel, the 'reflect' borders (small sizes reflect repeatedly) and the row/column order.
    for (w, h, sigma) in [(40, 30, 2.0), (13, 9, 3.0), (70, 64, 6.0), (5, 3, 6.0)] {
        let alpha = 10.0;
        let (dx, dy) = fast_fields(5, alpha, sigma, w, h);
        let key = |f: u64| 0x5eed_e1a5_71c0_0000 ^ (5u64 << 8) ^ f;
        for (f, field) in [dx, dy].iter().enumerate() {
            let mut g = Xoshiro8::new(key(f as u64));
            let mut noise = vec![0f64; w * h];
            let mut group = vec![0f32; w * LANES];
            for g0 in (0..h).step_by(LANES) {
                g.fill_scalar(&mut group);
                for j in 0..LANES.min(h - g0) {
                    for x in 0..w {
                        noise[(g0 + j) * w + x] = f64::from(group[x * LANES + j]);
                    }
                }
            }
            let want = gaussian_filter(&noise, w, h, sigma);
            for (i, (&got, &want)) in field.iter().zip(&want).enumerate() {
                let want = want * alpha;
                assert!(
                    (f64::from(got) - want).abs() < 1e-4 * alpha,
                    "{w}x{h} field {f} at {i}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn seeds_and_fields_differ_and_repeat() {
    let a = fast_fields(1, 120.0, 6.0, 64, 48);
    assert_eq!(a, fast_fields(1, 120.0, 6.0, 64, 48));
    assert_ne!(a.0, fast_fields(2, 120.0, 6.0, 64, 48).0);
    assert_ne!(a.0, a.1);
}

#[test]
fn vanishing_sigma_leaves_the_noise_unsmoothed() {
    // sigma^2 underflows to 0 here; the fields must still be the scaled noise, never NaN
    let (dx, dy) = fast_fields(4, 2.0, 1e-200, 19, 5);
    assert!(dx.iter().chain(&dy).all(|v| (-2.0..2.0).contains(v)));
    assert_eq!((dx, dy), fast_fields(4, 2.0, 1e-16, 19, 5));
}
