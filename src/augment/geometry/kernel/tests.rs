//! Fast kernels vs the per-pixel reference sampler: exhaustive folds, fallbacks, blends.

use super::*;
use crate::augment::cpu;
use crate::augment::geometry::sampler::linear_border;

fn img(w: usize, h: usize) -> ImageU8 {
    ImageU8::from_fn(w, h, |x, y| ((x * 53 + y * 29 + x * y * 7) % 256) as u8)
}

#[test]
fn folded_bilinear_equals_per_neighbour_reflect_everywhere() {
    // every 1/32 position in [-2L, 2L] on small images, against OpenCV's border path
    for (w, h) in [(2, 2), (3, 5), (7, 4)] {
        let src = img(w, h);
        let g = Geom::new(w, h).unwrap();
        let (lx2, ly2) = (64 * (w as i32 - 1), 64 * (h as i32 - 1));
        for yq in -ly2..=ly2 {
            let xs: Vec<i32> = (-lx2..=lx2).collect();
            let ys = vec![yq; xs.len()];
            let mut fast = vec![0u8; xs.len()];
            let c = Slices { xs: &xs, ys: &ys };
            linear_r101(&src, &g, &c, &mut fast, &mut Lanes::new());
            let mut l = Lanes::new();
            for (i, &xq) in xs.iter().enumerate() {
                let want = linear_border(
                    src.data(),
                    w,
                    h,
                    xq >> 5,
                    yq >> 5,
                    (xq & 31) as u32,
                    (yq & 31) as u32,
                    BorderMode::Reflect101,
                );
                assert_eq!(fast[i], want, "{w}x{h} at ({xq}, {yq})/32");
                assert!(prepare_linear_scalar(&g, &c, i, &mut l, 1));
                let mut tb = [0u32; 1];
                // SAFETY: the scalar prepare succeeded, so the offset is in range.
                unsafe { gather_pairs(src.data(), w, &l.off[..1], &mut tb) };
                assert_eq!(blend_one(tb[0], l.wx[0], l.wy[0]), want, "scalar path");
            }
        }
    }
}

#[test]
fn folded_nearest_equals_reference_and_far_coordinates_fall_back() {
    let (w, h) = (5, 3);
    let src = img(w, h);
    let g = Geom::new(w, h).unwrap();
    let xs: Vec<i32> = (-40..40).collect();
    for y in -9..9 {
        let ys = vec![y; xs.len()];
        let (mut fast, mut want) = (vec![0u8; xs.len()], vec![0u8; xs.len()]);
        let c = Slices { xs: &xs, ys: &ys };
        nearest_r101(&src, &g, &Support::ALL, &c, &mut fast, &mut Lanes::new());
        nearest_row_generic(&src, &xs, &ys, BorderMode::Reflect101, &mut want);
        assert_eq!(fast, want, "row {y}");
    }
    // beyond [-2L, 2L] (and i32::MIN, what cvRound gives for NaN) the reference path runs
    let xs = [i32::MIN, -100_000, 3, 1 << 20, 70_000, 0, 0, 0, 0, 0];
    let ys = [0, 1, i32::MIN, 2, -5, 0, 0, 0, 0, 0];
    let (mut fast, mut want) = ([0u8; 10], [0u8; 10]);
    let c = Slices { xs: &xs, ys: &ys };
    linear_r101(&src, &g, &c, &mut fast, &mut Lanes::new());
    linear_row_generic(&src, &xs, &ys, BorderMode::Reflect101, &mut want);
    assert_eq!(fast, want);
    nearest_r101(&src, &g, &Support::ALL, &c, &mut fast, &mut Lanes::new());
    nearest_row_generic(&src, &xs, &ys, BorderMode::Reflect101, &mut want);
    assert_eq!(fast, want);
}

#[test]
fn support_shortcut_gives_the_same_bytes() {
    // a sparse mask: zero except a small blob; samples all over (and outside) the image
    let (w, h) = (40, 30);
    let mask = ImageU8::from_fn(w, h, |x, y| {
        if (12..17).contains(&x) && (20..23).contains(&y) {
            255
        } else {
            0
        }
    });
    let sup = Support::of(&mask);
    assert_eq!((sup.x0, sup.x1, sup.y0, sup.y1), (12, 16, 20, 22));
    assert_eq!(Support::of(&ImageU8::new(5, 4)), Support::EMPTY);
    let g = Geom::new(w, h).unwrap();
    let mut s = 99u32;
    let mut rnd = |lo: i32, hi: i32| {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        lo + ((s >> 8) % (hi - lo + 1) as u32) as i32
    };
    for _ in 0..200 {
        let (x0, y0) = (rnd(-78, 78), rnd(-58, 58));
        let (dx, dy) = (rnd(-3, 3), rnd(-2, 2));
        let xs: Vec<i32> = (0..37).map(|i| (x0 + dx * i / 4).clamp(-78, 78)).collect();
        let ys: Vec<i32> = (0..37).map(|i| (y0 + dy * i / 4).clamp(-58, 58)).collect();
        let c = Slices { xs: &xs, ys: &ys };
        let (mut a, mut b) = (vec![1u8; 37], vec![2u8; 37]);
        nearest_r101(&mask, &g, &sup, &c, &mut a, &mut Lanes::new());
        nearest_row_generic(&mask, &xs, &ys, BorderMode::Reflect101, &mut b);
        assert_eq!(a, b);
    }
}

#[test]
fn simd_and_scalar_blend_agree_on_all_weights() {
    let mut tb = Vec::new();
    let mut wx = Vec::new();
    let mut wy = Vec::new();
    let mut s = 0x1234_5678u32;
    for fy in 0..=32u32 {
        for fx in 0..=32u32 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            tb.push(s);
            wx.push(pack_wx(fx));
            wy.push((32 - fy) | (fy << 16));
        }
    }
    let mut a = vec![0u8; tb.len()];
    let mut b = vec![0u8; tb.len()];
    blend(&tb, &wx, &wy, &mut a, cpu::avx2());
    blend_scalar(&tb, &wx, &wy, &mut b);
    assert_eq!(a, b);
    // and the scalar blend is OpenCV's weighted sum
    for k in 0..tb.len() {
        let (fx, fy) = ((k % 33) as u32, (k / 33) as u32);
        let t = tb[k];
        let p = |i: u32| (t >> (8 * i)) & 0xff;
        let s = (32 - fy) * (32 - fx) * p(0)
            + (32 - fy) * fx * p(1)
            + fy * (32 - fx) * p(2)
            + fy * fx * p(3);
        assert_eq!(u32::from(b[k]), (s + 512) >> 10);
    }
}

#[test]
fn row_kernels_give_the_same_bytes_on_the_scalar_path() {
    // linear_r101, nearest_r101 (with and without the support shortcut) and the separable
    // Columns rows, dispatched (AVX2 where the CPU has it) and under `cpu::with_scalar`:
    // chunk tails, coordinates across the folds and beyond 2L (the fallback chunks).
    let mut s = 0x9e37_79b9u32;
    let mut rnd = |lo: i32, hi: i32| {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        lo + (s % (hi - lo + 1) as u32) as i32
    };
    for (w, h) in [(2, 2), (9, 4), (40, 30), (131, 17)] {
        let src = img(w, h);
        let mask = ImageU8::from_fn(w, h, |x, y| if x * 3 > w && y * 2 > h { 255 } else { 0 });
        let g = Geom::new(w, h).unwrap();
        let (lx2, ly2) = (64 * (w as i32 - 1), 64 * (h as i32 - 1));
        for n in [1, 7, 8, 9, 15, 16, 17, 24, 25, 31, 255, 256, 257, 700] {
            let far = rnd(0, 3) == 0;
            let (rx, ry) = if far {
                (40 * lx2, 40 * ly2)
            } else {
                (lx2, ly2)
            };
            let xs: Vec<i32> = (0..n).map(|_| rnd(-rx, rx)).collect();
            let ys: Vec<i32> = (0..n).map(|_| rnd(-ry, ry)).collect();
            let c = Slices { xs: &xs, ys: &ys };
            let run = || {
                let mut lin = vec![0u8; n];
                linear_r101(&src, &g, &c, &mut lin, &mut Lanes::new());
                // nearest indices: the same coordinates in whole pixels
                let xn: Vec<i32> = xs.iter().map(|&x| x >> 5).collect();
                let yn: Vec<i32> = ys.iter().map(|&y| y >> 5).collect();
                let cn = Slices { xs: &xn, ys: &yn };
                let mut near = vec![0u8; n];
                nearest_r101(&src, &g, &Support::ALL, &cn, &mut near, &mut Lanes::new());
                let mut sparse = vec![0u8; n];
                let sup = Support::of(&mask);
                nearest_r101(&mask, &g, &sup, &cn, &mut sparse, &mut Lanes::new());
                (lin, near, sparse)
            };
            let simd = run();
            assert!(simd == cpu::with_scalar(run), "{w}x{h} n {n} far {far}");
            // every bilinear level this CPU has (the dispatch above runs only the best)
            for level in [Level::Scalar, Level::Avx2, Level::Avx512] {
                if level <= Level::detect() {
                    let mut lin = vec![0u8; n];
                    linear_r101_at(level, &src, &g, &c, &mut lin, &mut Lanes::new());
                    assert!(lin == simd.0, "{level:?} {w}x{h} n {n} far {far}");
                }
            }
        }
        // separable rows: every source row pair and vertical fraction
        let gx: Vec<i32> = (0..300).map(|_| rnd(-lx2, lx2)).collect();
        let cols = Columns::linear(&g, &gx).unwrap();
        for y0 in 0..h - 1 {
            for fy in [0, 1, 13, 31, 32] {
                let run = || {
                    let mut out = vec![0u8; gx.len()];
                    cols.linear_row(&src, y0, fy, &mut out, &mut Lanes::new());
                    out
                };
                let want = cpu::with_scalar(run);
                assert_eq!(run(), want, "{w}x{h} row {y0} fy {fy}");
                for level in [Level::Scalar, Level::Avx2, Level::Avx512] {
                    if level <= Level::detect() {
                        let mut out = vec![0u8; gx.len()];
                        cols.linear_row_at(level, &src, y0, fy, &mut out, &mut Lanes::new());
                        assert_eq!(out, want, "{level:?} {w}x{h} row {y0} fy {fy}");
                    }
                }
            }
        }
    }
}
