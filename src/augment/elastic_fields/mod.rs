//! ElasticTransform's default ("fast") displacement fields: the same distribution as
//! albumentations 0.3.1's numpy fields, generated row by row in float32.
//!
//! albumentations: `dx = float32(gaussian_filter(2 * rand(H, W) - 1, sigma) * alpha)` (float64
//! numpy noise, scipy 'reflect' borders, radius `int(4 sigma + 0.5)`), then `dy` likewise.
//! Here, per field:
//! - noise: uniform on `[-1, 1)` (24-bit grid) from 8 xoshiro128+ lanes, seeded by SplitMix64
//!   from the transform's seed (`randint(0, 10000)`, so there are as many distinct fields as in
//!   albumentations) and the field index. Rows come in groups of 8: lane `j` draws row
//!   `8g + j`, one value per column, left to right (rows past the image are drawn and dropped);
//! - smoothing: the same separable kernel as scipy (its float64 weights rounded to float32; the
//!   vertical ones times alpha) with the same 'reflect' (half-sample symmetric) borders: a
//!   horizontal pass on each group of 8 noise rows as it is drawn (rows as SIMD lanes), then a
//!   vertical pass over a ring of filtered rows, 8 output rows at a time in column blocks
//!   that stay in L1. Field rows are ready when the warp needs them; no `H x W` field is
//!   stored;
//! - arithmetic: every output is `c * k0`, then `acc = fma(a + b, k_d, acc)` for `d = 1..r`,
//!   in float32. The AVX2+FMA kernels and the scalar reference (`f32::mul_add`) perform the same
//!   operations per element, so the fields are bit-identical on every machine.
//!
//! The fields are not draw-for-draw those of numpy (the `fields = "numpy"` option keeps those);
//! `tests/augment_pipeline.rs` checks mean, spread, quantiles and spatial autocorrelation
//! against the numpy generator.

use super::gaussian::gaussian_kernel;
use super::geometry::{border_index, BorderMode};

#[cfg(target_arch = "x86_64")]
mod simd;
#[cfg(target_arch = "x86_64")]
mod simd512;
#[cfg(test)]
mod tests;

/// Rows per group (SIMD lanes of the horizontal pass and of the generator).
const LANES: usize = 8;

/// Eight xoshiro128+ generators, structure of arrays.
#[derive(Clone)]
struct Xoshiro8 {
    s: [[u32; LANES]; 4],
}

impl Xoshiro8 {
    fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut next = || {
            // SplitMix64
            sm = sm.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let mut s = [[0u32; LANES]; 4];
        for lane in 0..LANES {
            let (a, b) = (next(), next());
            // the `| 1` keeps the state away from all zeros
            let words = [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32 | 1];
            for (word, v) in s.iter_mut().zip(words) {
                word[lane] = v;
            }
        }
        Self { s }
    }

    /// Fills `out` (a multiple of 8 long; element `8i + j` from lane `j`) with uniform floats on
    /// `[-1, 1)`: the top 24 bits of each xoshiro128+ output `r` give `(r >> 8) / 2^23 - 1`.
    fn fill(&mut self, out: &mut [f32], simd: bool) {
        assert!(out.len().is_multiple_of(LANES), "draws come in groups of 8");
        #[cfg(target_arch = "x86_64")]
        {
            if simd {
                // SAFETY: AVX2 is available (`simd` comes from `simd_level`).
                unsafe { simd::fill(&mut self.s, out) };
                return;
            }
        }
        let _ = simd;
        self.fill_scalar(out);
    }

    fn fill_scalar(&mut self, out: &mut [f32]) {
        let [mut s0, mut s1, mut s2, mut s3] = self.s;
        for chunk in out.chunks_exact_mut(LANES) {
            for j in 0..LANES {
                let r = s0[j].wrapping_add(s3[j]);
                chunk[j] = ((r >> 8) as i32 - (1 << 23)) as f32 * (1.0 / 8_388_608.0);
                let t = s1[j] << 9;
                s2[j] ^= s0[j];
                s3[j] ^= s1[j];
                s1[j] ^= s2[j];
                s0[j] ^= s3[j];
                s2[j] ^= t;
                s3[j] = s3[j].rotate_left(11);
            }
        }
        self.s = [s0, s1, s2, s3];
    }
}

/// The kernels a field stream runs; every level gives the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Simd {
    Scalar,
    /// AVX2 + FMA: generator, transpose and both smoothing passes.
    Avx2,
    /// AVX2 + FMA, and AVX-512F smoothing passes.
    Avx512,
}

/// The best kernels this CPU runs (the scalar reference where it has no AVX2 + FMA).
fn simd_level() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::augment::cpu;
        if !cpu::avx2_fma() {
            Simd::Scalar
        } else if cpu::avx512f() {
            Simd::Avx512
        } else {
            Simd::Avx2
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Simd::Scalar
    }
}

/// Reusable buffers of a [`FieldStream`] (keep one per thread).
#[derive(Default)]
pub(crate) struct FieldBuffers {
    ring: [Vec<f32>; 2],
    noise: Vec<f32>,
    hout: Vec<f32>,
    rows: Vec<usize>,
    /// The current group of 8 output rows of dx and dy.
    out: [Vec<f32>; 2],
}

/// The two displacement fields of one elastic deformation, produced row by row in order.
pub(crate) struct FieldStream<'a> {
    w: usize,
    h: usize,
    r: usize,
    /// Rows the ring holds (row `y` lives in slot `y % slots`).
    slots: usize,
    /// Floats between ring rows: `w` rounded up to a cache line, plus one line, so that the
    /// rows of a column block do not all map to the same L1 sets (4 KiB aliasing at w = 1024).
    stride: usize,
    /// Offset of row slot 0 in each ring: the first 64-byte aligned float, so that every ring
    /// row starts on a cache line (no 512-bit load of the vertical pass splits across two).
    origin: [usize; 2],
    hk: Vec<f32>,
    vk: Vec<f32>,
    rng: [Xoshiro8; 2],
    bufs: &'a mut FieldBuffers,
    /// Groups of 8 rows drawn and filtered horizontally so far.
    groups: usize,
    /// Next output row.
    expect: usize,
    simd: Simd,
}

impl<'a> FieldStream<'a> {
    /// Fields for a `w x h` image from `seed`, kernel `sigma` (truncate 4), amplitude `alpha`.
    pub(crate) fn new(
        seed: u32,
        alpha: f64,
        sigma: f64,
        w: usize,
        h: usize,
        bufs: &'a mut FieldBuffers,
    ) -> Self {
        assert!(w > 0 && h > 0, "empty field");
        // scipy (and the numpy mode) skip the filter for sigma <= 1e-15
        let k = if sigma > 1e-15 {
            gaussian_kernel(sigma, 4.0)
        } else {
            vec![1.0]
        };
        let r = k.len() / 2;
        let hk: Vec<f32> = k[r..].iter().map(|&v| v as f32).collect();
        let vk: Vec<f32> = k[r..].iter().map(|&v| (v * alpha) as f32).collect();
        // rows needed for the output group y..y+7: y-r ..= y+7+r; drawn: up to 7 more
        let slots = (2 * r + 16).min(h.div_ceil(LANES) * LANES);
        let stride = w.next_multiple_of(16) + 16;
        for ring in &mut bufs.ring {
            ring.clear();
            ring.resize(slots * stride + 16, 0.0);
        }
        let origin = bufs
            .ring
            .each_ref()
            .map(|ring| ring.as_ptr().align_offset(64).min(15));
        bufs.noise.clear();
        bufs.noise.resize((w + 2 * r) * LANES, 0.0);
        bufs.hout.clear();
        bufs.hout.resize(w * LANES, 0.0);
        for o in &mut bufs.out {
            o.clear();
            o.resize(LANES * w, 0.0);
        }
        let key = |f: u64| 0x5eed_e1a5_71c0_0000 ^ (u64::from(seed) << 8) ^ f;
        Self {
            w,
            h,
            r,
            slots,
            stride,
            origin,
            hk,
            vk,
            rng: [Xoshiro8::new(key(0)), Xoshiro8::new(key(1))],
            bufs,
            groups: 0,
            expect: 0,
            simd: simd_level(),
        }
    }

    /// Runs at most the kernels of `level` (tests compare the levels).
    #[cfg(test)]
    fn with_level(mut self, level: Simd) -> Self {
        self.simd = self.simd.min(level);
        self
    }

    /// Draws the next group of 8 noise rows of both fields, filters them horizontally and
    /// stores the rows that exist in the ring.
    fn advance(&mut self) {
        let (w, r) = (self.w, self.r);
        let g = self.groups;
        for f in 0..2 {
            let FieldBuffers {
                ring, noise, hout, ..
            } = &mut *self.bufs;
            let vector = self.simd >= Simd::Avx2;
            self.rng[f].fill(&mut noise[r * LANES..(r + w) * LANES], vector);
            for d in 1..=r {
                let (src_l, src_r) = (
                    r + reflect(-(d as i64), w),
                    r + reflect((w - 1 + d) as i64, w),
                );
                noise.copy_within(src_l * LANES..(src_l + 1) * LANES, (r - d) * LANES);
                noise.copy_within(src_r * LANES..(src_r + 1) * LANES, (r + w - 1 + d) * LANES);
            }
            hpass(noise, &self.hk, w, hout, self.simd);
            let rows = (self.h - g * LANES).min(LANES);
            let slots: [usize; LANES] =
                std::array::from_fn(|j| (g * LANES + j) % self.slots * self.stride);
            transpose(
                hout,
                &mut ring[f][self.origin[f]..],
                &slots[..rows],
                w,
                vector,
            );
        }
        self.groups += 1;
    }

    /// Row `y` of dx and dy (rows must be requested in order 0, 1, .., h - 1).
    ///
    /// # Panics
    /// If a row is requested out of order or the output rows are not `w` long.
    pub(crate) fn row(&mut self, y: usize, dx: &mut [f32], dy: &mut [f32]) {
        assert!(
            y < self.h && dx.len() == self.w && dy.len() == self.w,
            "field row"
        );
        assert_eq!(y, self.expect, "field rows must be requested in order");
        self.expect += 1;
        let (w, h, r) = (self.w, self.h, self.r);
        let j = y % LANES;
        if j == 0 {
            // the vertical pass of the group y..y+7 (rows past the image are computed, unused)
            while self.groups * LANES <= (y + LANES - 1 + r).min(h - 1) {
                self.advance();
            }
            let FieldBuffers {
                ring, rows, out, ..
            } = &mut *self.bufs;
            rows.clear();
            rows.extend(
                (0..2 * r + LANES).map(|i| {
                    (reflect(y as i64 - r as i64 + i as i64, h) % self.slots) * self.stride
                }),
            );
            for f in 0..2 {
                let ring = &ring[f][self.origin[f]..];
                vpass(ring, rows, &self.vk, w, &mut out[f], self.simd);
            }
        }
        dx.copy_from_slice(&self.bufs.out[0][j * w..(j + 1) * w]);
        dy.copy_from_slice(&self.bufs.out[1][j * w..(j + 1) * w]);
    }
}

/// Writes lane `j` of the interleaved columns `src` (`w` x 8) into `ring[slots[j]..][..w]`.
fn transpose(src: &[f32], ring: &mut [f32], slots: &[usize], w: usize, simd: bool) {
    assert!(src.len() >= w * LANES && slots.iter().all(|&o| o + w <= ring.len()));
    #[cfg(target_arch = "x86_64")]
    {
        if simd && slots.len() == LANES {
            // SAFETY: AVX2 is available; sizes and offsets are checked above.
            unsafe { simd::transpose(src, ring, slots, w) };
            return;
        }
    }
    let _ = simd;
    for (j, &o) in slots.iter().enumerate() {
        for (x, d) in ring[o..o + w].iter_mut().enumerate() {
            *d = src[x * LANES + j];
        }
    }
}

/// scipy 'reflect' (half-sample symmetric) index, repeated for far indices.
fn reflect(i: i64, n: usize) -> usize {
    border_index(i as i32, n, BorderMode::Reflect).unwrap_or(0)
}

/// Horizontal pass on a group of 8 interleaved rows: `p` holds `w + 2r` columns of 8 lanes
/// (column `x` of the image at `p[(x + r) * 8..]`, reflected borders included); `out` gets the
/// `w` filtered columns, lane by lane `p(x) k0`, then `fma(p(x-d) + p(x+d), k_d, .)`.
fn hpass(p: &[f32], k: &[f32], w: usize, out: &mut [f32], level: Simd) {
    let r = k.len() - 1;
    assert!(
        p.len() >= (w + 2 * r) * LANES && out.len() >= w * LANES,
        "hpass sizes"
    );
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F is available; the sizes are asserted above.
        Simd::Avx512 => unsafe { simd512::hpass(p, k, w, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 and FMA are available; the sizes are asserted above.
        Simd::Avx2 => unsafe { simd::hpass(p, k, w, out) },
        _ => hpass_scalar_columns(p, k, 0..w, out),
    }
}

/// The scalar reference of [`hpass`] for the output columns `xs` (also the SIMD tail).
#[allow(clippy::needless_range_loop)] // taps at c - d and c + d
fn hpass_scalar_columns(p: &[f32], k: &[f32], xs: std::ops::Range<usize>, out: &mut [f32]) {
    let r = k.len() - 1;
    for x in xs {
        for j in 0..LANES {
            let at = |i: usize| p[i * LANES + j];
            let mut a = at(x + r) * k[0];
            for d in 1..=r {
                a = (at(x + r - d) + at(x + r + d)).mul_add(k[d], a);
            }
            out[x * LANES + j] = a;
        }
    }
}

/// Vertical pass for a group of 8 output rows: `rows[i]` is the ring offset of source row
/// `y - r + i` (`i = 0..2r+8`); row `y + j` of `out` (`8 x w`) is `c k0`, then
/// `fma(a + b, k_d, .)` over the pairs of rows at distance `d = 1..r` around `y + j`.
fn vpass(ring: &[f32], rows: &[usize], k: &[f32], w: usize, out: &mut [f32], level: Simd) {
    let r = k.len() - 1;
    assert!(
        rows.len() == 2 * r + LANES && out.len() == LANES * w,
        "vpass sizes"
    );
    assert!(rows.iter().all(|&o| o + w <= ring.len()), "ring rows");
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F is available; every row offset is checked above.
        Simd::Avx512 => unsafe { simd512::vpass(ring, rows, k, w, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 and FMA are available; every row offset is checked above.
        Simd::Avx2 => unsafe { simd::vpass(ring, rows, k, w, out) },
        _ => vpass_all_scalar(ring, rows, k, w, out),
    }
}

fn vpass_all_scalar(ring: &[f32], rows: &[usize], k: &[f32], w: usize, out: &mut [f32]) {
    let r = k.len() - 1;
    for j in 0..LANES {
        vpass_scalar(
            ring,
            &rows[j..j + 2 * r + 1],
            k,
            0..w,
            &mut out[j * w..(j + 1) * w],
        );
    }
}

/// One output row (centre `rows[r]`) over the columns `xs` (also the SIMD tail).
#[allow(clippy::needless_range_loop)] // taps at r - d and r + d
fn vpass_scalar(
    ring: &[f32],
    rows: &[usize],
    k: &[f32],
    xs: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let r = k.len() - 1;
    let at = |i: usize, x: usize| ring[rows[i] + x];
    for x in xs {
        let mut a = at(r, x) * k[0];
        for d in 1..=r {
            a = (at(r - d, x) + at(r + d, x)).mul_add(k[d], a);
        }
        out[x] = a;
    }
}

/// Whole `w x h` fields (row-major `dx`, `dy`), exactly what the row stream yields.
pub(crate) fn fast_fields(
    seed: u32,
    alpha: f64,
    sigma: f64,
    w: usize,
    h: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut bufs = FieldBuffers::default();
    let mut s = FieldStream::new(seed, alpha, sigma, w, h, &mut bufs);
    let (mut dx, mut dy) = (vec![0f32; w * h], vec![0f32; w * h]);
    for y in 0..h {
        s.row(y, &mut dx[y * w..(y + 1) * w], &mut dy[y * w..(y + 1) * w]);
    }
    (dx, dy)
}
