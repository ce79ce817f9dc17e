//! Whole-image fast paths (folded REFLECT_101 kernels, mask support shortcut, separable and
//! displacement rows) against per-pixel reference implementations written from the spec, on
//! random affine matrices and maps, including coordinates far outside the image, NaN and inf.

use super::sampler::{
    cv_round_f64, linear_row_generic, nearest_row_generic, quantize32, round_to_i16, sat16,
};
use super::*;
use crate::augment::{cpu, ImageU8};

/// A small deterministic generator (LCG + xorshift), enough for test inputs.
struct Rnd(u64);

impl Rnd {
    fn u(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let x = self.0 ^ (self.0 >> 29);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.u()
    }
}

fn image(w: usize, h: usize, seed: u64) -> ImageU8 {
    let mut r = Rnd(seed);
    ImageU8::from_fn(w, h, |_, _| (r.u() * 256.0) as u8)
}

/// A sparse 0/255 mask (exercises the support shortcut of nearest sampling).
fn sparse_mask(w: usize, h: usize) -> ImageU8 {
    ImageU8::from_fn(w, h, |x, y| {
        if x * 3 > w && x * 2 < w && y * 5 > h * 2 && y * 5 < h * 3 {
            255
        } else {
            0
        }
    })
}

/// warpAffine per the spec (§1.3): row and column parts rounded separately, then the
/// reference row samplers.
fn warp_reference(src: &ImageU8, m: &Affine, interp: Interpolation, border: BorderMode) -> ImageU8 {
    let a = invert_affine(m);
    let (w, h) = (src.width(), src.height());
    let mut out = ImageU8::new(w, h);
    let (mut xs, mut ys) = (vec![0i32; w], vec![0i32; w]);
    for v in 0..h {
        let vf = v as f64;
        for u in 0..w {
            let ax = cv_round_f64(a[0] * u as f64 * 1024.0);
            let ay = cv_round_f64(a[3] * u as f64 * 1024.0);
            let bx = cv_round_f64((a[1] * vf + a[2]) * 1024.0);
            let by = cv_round_f64((a[4] * vf + a[5]) * 1024.0);
            match interp {
                Interpolation::Linear => {
                    xs[u] = bx.wrapping_add(16).wrapping_add(ax) >> 5;
                    ys[u] = by.wrapping_add(16).wrapping_add(ay) >> 5;
                }
                Interpolation::Nearest => {
                    xs[u] = sat16(bx.wrapping_add(512).wrapping_add(ax) >> 10);
                    ys[u] = sat16(by.wrapping_add(512).wrapping_add(ay) >> 10);
                }
            }
        }
        match interp {
            Interpolation::Linear => linear_row_generic(src, &xs, &ys, border, out.row_mut(v)),
            Interpolation::Nearest => nearest_row_generic(src, &xs, &ys, border, out.row_mut(v)),
        }
    }
    out
}

fn remap_reference(
    src: &ImageU8,
    mx: &[f32],
    my: &[f32],
    w: usize,
    h: usize,
    interp: Interpolation,
    border: BorderMode,
) -> ImageU8 {
    let mut out = ImageU8::new(w, h);
    for v in 0..h {
        let (rx, ry) = (&mx[v * w..(v + 1) * w], &my[v * w..(v + 1) * w]);
        let (xs, ys): (Vec<i32>, Vec<i32>) = match interp {
            Interpolation::Linear => (
                rx.iter().map(|&x| quantize32(x)).collect(),
                ry.iter().map(|&y| quantize32(y)).collect(),
            ),
            Interpolation::Nearest => (
                rx.iter().map(|&x| round_to_i16(x)).collect(),
                ry.iter().map(|&y| round_to_i16(y)).collect(),
            ),
        };
        match interp {
            Interpolation::Linear => linear_row_generic(src, &xs, &ys, border, out.row_mut(v)),
            Interpolation::Nearest => nearest_row_generic(src, &xs, &ys, border, out.row_mut(v)),
        }
    }
    out
}

/// Runs `f` with the AVX2 kernels (where the CPU has them) and with the scalar fallbacks.
fn both_paths(f: impl Fn()) {
    f();
    cpu::with_scalar(f);
}

const SIZES: [(usize, usize); 5] = [(2, 2), (3, 7), (17, 5), (64, 48), (131, 67)];
const BORDERS: [BorderMode; 3] = [
    BorderMode::Reflect101,
    BorderMode::Constant(9),
    BorderMode::Replicate,
];

#[test]
fn warp_affine_equals_reference_on_random_matrices() {
    both_paths(|| {
        let mut r = Rnd(1);
        for (w, h) in SIZES {
            let img = image(w, h, 7);
            let mask = sparse_mask(w, h);
            for case in 0..60 {
                // rotations of any angle, scales from strong zoom-out to zoom-in, shear, and
                // translations from sub-pixel to far beyond 2L (fallback chunks, i16 saturation)
                let angle = r.range(-180.0, 180.0);
                let scale = [0.05, 0.3, 0.9, 1.0, 1.1, 4.0, 20.0][case % 7] * r.range(0.9, 1.1);
                let reach = [0.5, 3.0, 40.0, 40_000.0][case % 4];
                let mut m = rotation_matrix_2d(
                    (w as f64 / 2.0) as f32,
                    (h as f64 / 2.0) as f32,
                    angle,
                    scale,
                );
                m[1] += r.range(-0.3, 0.3);
                m[2] += r.range(-reach, reach) * w as f64;
                m[5] += r.range(-reach, reach) * h as f64;
                for border in BORDERS {
                    for interp in [Interpolation::Linear, Interpolation::Nearest] {
                        for src in [&img, &mask] {
                            let got = warp_affine(src, &m, interp, border);
                            let want = warp_reference(src, &m, interp, border);
                            assert!(
                                got == want,
                                "{w}x{h} case {case} {interp:?} {border:?} {m:?}"
                            );
                        }
                    }
                }
            }
        }
    });
}

#[test]
fn remap_equals_reference_on_random_maps() {
    both_paths(|| {
        let mut r = Rnd(2);
        let specials = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.0e9,
            -3.0e7,
            40_000.0,
            -0.5,
            0.5,
            1.5,
            -1.0 / 64.0,
        ];
        for (w, h) in SIZES {
            let img = image(w, h, 9);
            let mask = sparse_mask(w, h);
            for case in 0..24 {
                let reach = [0.2, 1.0, 2.5, 12.0][case % 4];
                let n = w * h;
                let mut mx: Vec<f32> = (0..n)
                    .map(|i| ((i % w) as f64 + r.range(-reach, reach) * w as f64) as f32)
                    .collect();
                let mut my: Vec<f32> = (0..n)
                    .map(|i| ((i / w) as f64 + r.range(-reach, reach) * h as f64) as f32)
                    .collect();
                if case % 3 == 0 {
                    // half-pixel and 1/64-pixel positions: the round-half-even cases
                    for v in mx.iter_mut().chain(my.iter_mut()) {
                        *v = (*v * 64.0).round() / 64.0;
                    }
                }
                if case % 5 == 1 {
                    for k in 0..n.min(40) {
                        let i = (r.u() * n as f64) as usize;
                        mx[i] = specials[k % specials.len()];
                        my[(i * 7) % n] = specials[(k + 3) % specials.len()];
                    }
                }
                for border in BORDERS {
                    for interp in [Interpolation::Linear, Interpolation::Nearest] {
                        for src in [&img, &mask] {
                            let got = remap(src, &mx, &my, w, h, interp, border);
                            let want = remap_reference(src, &mx, &my, w, h, interp, border);
                            assert!(got == want, "{w}x{h} case {case} {interp:?} {border:?}");
                        }
                    }
                }
            }
        }
    });
}

#[test]
fn separable_remap_equals_full_map_reference() {
    both_paths(|| {
        let mut r = Rnd(3);
        for (w, h) in SIZES {
            let img = image(w, h, 11);
            let mask = sparse_mask(w, h);
            for case in 0..20 {
                let reach = [0.1, 1.0, 3.0, 500.0][case % 4];
                let gx: Vec<f32> = (0..w)
                    .map(|u| (u as f64 + r.range(-reach, reach) * w as f64) as f32)
                    .collect();
                let gy: Vec<f32> = (0..h)
                    .map(|v| (v as f64 + r.range(-reach, reach) * h as f64) as f32)
                    .collect();
                let mx: Vec<f32> = (0..w * h).map(|i| gx[i % w]).collect();
                let my: Vec<f32> = (0..w * h).map(|i| gy[i / w]).collect();
                for border in BORDERS {
                    for interp in [Interpolation::Linear, Interpolation::Nearest] {
                        for src in [&img, &mask] {
                            let mut got = ImageU8::new(w, h);
                            remap_separable_into(src, &gx, &gy, interp, border, &mut got);
                            let want = remap_reference(src, &mx, &my, w, h, interp, border);
                            assert!(got == want, "{w}x{h} case {case} {interp:?} {border:?}");
                        }
                    }
                }
            }
        }
    });
}

#[test]
fn displacement_rows_equal_numpy_float64_maps() {
    both_paths(|| {
        // map = float32(float64(u) + float64(dx)): the f32 sum used by `RowSampler::displace`
        // must be the same number for every displacement, tiny and huge ones included.
        let mut r = Rnd(4);
        let (w, h) = (70, 9);
        let img = image(w, h, 13);
        for case in 0..30 {
            let scale = [1e-30, 1e-8, 3e-6, 0.01, 1.0, 20.0, 300.0, 1e6][case % 8];
            let dx: Vec<f32> = (0..w * h)
                .map(|_| (r.range(-1.0, 1.0) * scale) as f32)
                .collect();
            let dy: Vec<f32> = (0..w * h)
                .map(|_| (r.range(-1.0, 1.0) * scale) as f32)
                .collect();
            let mx: Vec<f32> = (0..w * h)
                .map(|i| ((i % w) as f64 + f64::from(dx[i])) as f32)
                .collect();
            let my: Vec<f32> = (0..w * h)
                .map(|i| ((i / w) as f64 + f64::from(dy[i])) as f32)
                .collect();
            for interp in [Interpolation::Linear, Interpolation::Nearest] {
                for border in BORDERS {
                    let mut rows = RowSampler::new(&img, interp, border);
                    let mut got = ImageU8::new(w, h);
                    for v in 0..h {
                        let s = v * w..(v + 1) * w;
                        rows.displace(&dx[s.clone()], &dy[s], v, got.row_mut(v));
                    }
                    let want = remap_reference(&img, &mx, &my, w, h, interp, border);
                    assert!(got == want, "case {case} {interp:?} {border:?}");
                }
            }
            for (i, (&a, &b)) in mx.iter().zip(&dx).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    ((i % w) as f32 + b).to_bits(),
                    "f32 sum at {i}"
                );
            }
        }
    });
}

#[test]
fn fast_kernels_and_scalar_fallbacks_give_the_same_images() {
    // the dispatched whole-image paths (AVX2 where the CPU has it) against `cpu::with_scalar`,
    // directly: warpAffine, remap, separable remap and displacement rows, REFLECT_101 (the
    // folded kernels) and one other border
    let mut r = Rnd(5);
    for (w, h) in [(3, 7), (64, 48), (131, 67), (300, 9)] {
        let img = image(w, h, 17);
        let mask = sparse_mask(w, h);
        let n = w * h;
        let mx: Vec<f32> = (0..n)
            .map(|i| ((i % w) as f64 + r.range(-2.0, 2.0) * w as f64) as f32)
            .collect();
        let my: Vec<f32> = (0..n)
            .map(|i| ((i / w) as f64 + r.range(-2.0, 2.0) * h as f64) as f32)
            .collect();
        let gx: Vec<f32> = (0..w)
            .map(|u| (u as f64 + r.range(-3.0, 3.0)) as f32)
            .collect();
        let gy: Vec<f32> = (0..h)
            .map(|v| (v as f64 + r.range(-3.0, 3.0)) as f32)
            .collect();
        let dx: Vec<f32> = (0..n).map(|_| r.range(-20.0, 20.0) as f32).collect();
        let dy: Vec<f32> = (0..n).map(|_| r.range(-20.0, 20.0) as f32).collect();
        let mut m = rotation_matrix_2d(w as f32 / 2.0, h as f32 / 2.0, r.range(-45.0, 45.0), 1.1);
        m[2] += r.range(-5.0, 5.0);
        for border in [BorderMode::Reflect101, BorderMode::Constant(3)] {
            for interp in [Interpolation::Linear, Interpolation::Nearest] {
                for src in [&img, &mask] {
                    let run = || {
                        let warped = warp_affine(src, &m, interp, border);
                        let remapped = remap(src, &mx, &my, w, h, interp, border);
                        let mut separable = ImageU8::new(w, h);
                        remap_separable_into(src, &gx, &gy, interp, border, &mut separable);
                        let mut rows = RowSampler::new(src, interp, border);
                        let mut displaced = ImageU8::new(w, h);
                        for v in 0..h {
                            let s = v * w..(v + 1) * w;
                            rows.displace(&dx[s.clone()], &dy[s], v, displaced.row_mut(v));
                        }
                        [warped, remapped, separable, displaced]
                    };
                    let simd = run();
                    let scalar = cpu::with_scalar(run);
                    for (k, (a, b)) in simd.iter().zip(&scalar).enumerate() {
                        assert!(a == b, "{w}x{h} {interp:?} {border:?} output {k}");
                    }
                }
            }
        }
    }
}
