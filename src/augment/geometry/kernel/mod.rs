//! Branch-free OpenCV-exact bilinear / nearest sampling for `BORDER_REFLECT_101`.
//!
//! OpenCV reflects each of the four bilinear neighbours independently. REFLECT_101 is a
//! triangle wave with integer vertices (`0`, `n-1`, `2(n-1)`, ..), so two consecutive integer
//! neighbours always sit on one linear piece of it; reflecting the *continuous* 1/32-px
//! coordinate `X` instead (`T(X) = min(|X|, 2L - |X|)`, `L = 32 (n-1)`, valid for `|X| <= 2L`)
//! and sampling there with the same integer weights gives the same integer sum, hence the same
//! byte. After the fold every sample is inside the image, so a row is three tight loops:
//!
//! 1. *prepare* (SIMD): fold, split into `x0 = min(T >> 5, n - 2)` and `fx = T - 32 x0`
//!    (`fx` may be 32 at the last column, which the weight formula handles), the byte offset
//!    `y0 W + x0`, and the packed weights `(32-fx, fx, 32-fx, fx)` / `(32-fy, fy)`;
//! 2. *gather* (scalar): one unaligned 16-bit load per source row, packed `p00 p01 p10 p11`;
//! 3. *blend* (SIMD): `maddubs` gives `top`/`bot`, `madd` gives
//!    `S = (32-fy) top + fy bot` = OpenCV's `sum w_ij p_ij`, output `(S + 512) >> 10`.
//!
//! The gather stays scalar: AVX2 `vpgatherdd` versions of step 2 measured slower on the
//! target machine (as in OpenCV, which also loads neighbourhoods with scalar loads).
//! With AVX-512 (F/BW/VL, [`Level::Avx512`]) the three steps are fused per group of 16 pixels
//! in registers (`simd512.rs`); [`Level`] picks the kernels, and tests run every level the
//! CPU has against the scalar one.
//!
//! Chunks containing a coordinate with `|X| > 2L` (far outside, NaN maps, i16 saturation) use
//! the per-pixel reference sampler of `sampler.rs` instead, so results never change.

use super::border::BorderMode;
use super::sampler::{linear_row_generic, nearest_row_generic};
use crate::augment::cpu;
use crate::augment::ImageU8;
pub(crate) use columns::Columns;

/// Pixels per chunk.
pub(crate) const CHUNK: usize = 256;

/// Pixels per chunk of nearest sampling (small, so that the per-chunk support test of affine
/// walks skips most of a sparse mask).
pub(crate) const NEAREST_CHUNK: usize = 64;

/// Largest side handled by the fast kernels (keeps `|x0| <= 32767` and offsets in `u32`).
const MAX_SIDE: usize = 16_384;

/// Source geometry for the fast kernels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geom {
    w: i32,
    h: i32,
    /// `2 L` in 1/32 px: `64 (w - 1)`, `64 (h - 1)`.
    lx2: i32,
    ly2: i32,
    /// `2 (n - 1)` in pixels (nearest).
    nx2: i32,
    ny2: i32,
}

impl Geom {
    /// `None` when the fast kernels do not apply (a side below 2 or above 16384 pixels).
    pub(crate) fn new(w: usize, h: usize) -> Option<Self> {
        if !(2..=MAX_SIDE).contains(&w) || !(2..=MAX_SIDE).contains(&h) {
            return None;
        }
        let (w, h) = (w as i32, h as i32);
        Some(Self {
            w,
            h,
            lx2: 64 * (w - 1),
            ly2: 64 * (h - 1),
            nx2: 2 * (w - 1),
            ny2: 2 * (h - 1),
        })
    }

    /// The geometry of `src` when the fast kernels apply to it with `border`.
    pub(crate) fn for_image(src: &ImageU8, border: BorderMode) -> Option<Self> {
        if border != BorderMode::Reflect101 {
            return None;
        }
        Self::new(src.width(), src.height())
    }
}

/// The bounding box of the nonzero pixels of an image (inclusive; empty when `x0 > x1`).
/// Nearest sampling writes 0 for groups of 8 samples that all land outside it, without
/// reading the source (masks are mostly zero). Purely a shortcut: the bytes are the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Support {
    x0: i32,
    x1: i32,
    y0: i32,
    y1: i32,
}

impl Support {
    /// Scans `img` (vectorised OR-reductions over rows and columns).
    pub(crate) fn of(img: &ImageU8) -> Self {
        let w = img.width();
        let mut cols = vec![0u8; w];
        let (mut y0, mut y1) = (i32::MAX, -1);
        for y in 0..img.height() {
            let row = img.row(y);
            let mut any = 0u8;
            for (c, &v) in cols.iter_mut().zip(row) {
                *c |= v;
                any |= v;
            }
            if any != 0 {
                y0 = y0.min(y as i32);
                y1 = y as i32;
            }
        }
        let x0 = cols.iter().position(|&c| c != 0);
        let x1 = cols.iter().rposition(|&c| c != 0);
        match (x0, x1) {
            (Some(x0), Some(x1)) => Self {
                x0: x0 as i32,
                x1: x1 as i32,
                y0,
                y1,
            },
            _ => Self::EMPTY,
        }
    }

    /// No nonzero pixel.
    pub(crate) const EMPTY: Self = Self {
        x0: i32::MAX,
        x1: -1,
        y0: i32::MAX,
        y1: -1,
    };

    /// Row `y` may hold a nonzero pixel.
    pub(crate) fn has_row(&self, y: usize) -> bool {
        (self.y0..=self.y1).contains(&(y as i32))
    }

    /// All nearest samples with raw (unfolded) coordinates in `b` read zeros: the folded
    /// ranges (exact when each raw range lies on one linear piece of the fold, else no
    /// claim) miss the support.
    pub(crate) fn misses(&self, g: &Geom, b: &[(i32, i32); 2]) -> bool {
        let fold_range = |(lo, hi): (i32, i32), two: i32| -> Option<(i32, i32)> {
            let half = two / 2;
            if lo >= 0 && hi <= half {
                Some((lo, hi))
            } else if lo >= -half && hi <= 0 {
                Some((-hi, -lo))
            } else if lo >= half && hi <= two {
                Some((two - hi, two - lo))
            } else {
                None
            }
        };
        match (fold_range(b[0], g.nx2), fold_range(b[1], g.ny2)) {
            (Some((x0, x1)), Some((y0, y1))) => {
                x1 < self.x0 || x0 > self.x1 || y1 < self.y0 || y0 > self.y1
            }
            _ => false,
        }
    }

    /// Every pixel may be nonzero (no shortcut).
    pub(crate) const ALL: Self = Self {
        x0: i32::MIN,
        x1: i32::MAX,
        y0: i32::MIN,
        y1: i32::MAX,
    };
}

/// Reusable per-chunk arrays (keep one per row loop; no zeroing per call).
pub(crate) struct Lanes {
    off: [u32; CHUNK],
    wx: [u32; CHUNK],
    wy: [u32; CHUNK],
    tb: [u32; CHUNK],
    xs: [i32; CHUNK],
    ys: [i32; CHUNK],
    /// Per group of 8 nearest samples: 1 when some sample may be nonzero.
    keep: [u8; CHUNK / 8],
}

impl Lanes {
    /// Zeroed arrays (on the heap: 6 KiB).
    pub(crate) fn new() -> Box<Self> {
        Box::new(Self {
            off: [0; CHUNK],
            wx: [0; CHUNK],
            wy: [0; CHUNK],
            tb: [0; CHUNK],
            xs: [0; CHUNK],
            ys: [0; CHUNK],
            keep: [0; CHUNK / 8],
        })
    }
}

/// A row of source coordinates: 1/32 px for bilinear, whole pixels for nearest (as OpenCV
/// stores them, saturated to i16 for nearest). `at8` must give exactly the lanes `at` gives,
/// except that it may skip the i16 saturation (a saturated value is outside `[-2L, 2L]`, and
/// such chunks are recomputed through `at`).
pub(crate) trait Coords {
    /// Number of pixels.
    fn len(&self) -> usize;
    /// Coordinates of pixel `i`.
    fn at(&self, i: usize) -> (i32, i32);
    /// Coordinates of pixels `i .. i + 8`.
    ///
    /// # Safety
    /// AVX2 must be available and `i + 8 <= self.len()`.
    #[cfg(target_arch = "x86_64")]
    unsafe fn at8(&self, i: usize) -> (simd::V, simd::V);

    /// `[(x_min, x_max), (y_min, y_max)]` over pixels `start .. start + n`, when cheaply known
    /// (coordinates monotone along the row, as in an affine walk); `None` otherwise.
    fn bounds(&self, _start: usize, _n: usize) -> Option<[(i32, i32); 2]> {
        None
    }
}

/// Precomputed coordinate rows.
#[cfg(test)]
pub(crate) struct Slices<'a> {
    pub xs: &'a [i32],
    pub ys: &'a [i32],
}

#[cfg(test)]
impl Coords for Slices<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.xs.len().min(self.ys.len())
    }
    #[inline(always)]
    fn at(&self, i: usize) -> (i32, i32) {
        (self.xs[i], self.ys[i])
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn at8(&self, i: usize) -> (simd::V, simd::V) {
        (simd::load_i32(self.xs, i), simd::load_i32(self.ys, i))
    }
}

/// Triangle-wave fold of `v` into `[0, two_l / 2]` (valid for `|v| <= two_l`).
#[inline(always)]
fn fold(v: i32, two_l: i32) -> i32 {
    // wrapping: out-of-range values (even i32::MIN) are computed but never used
    let a = v.wrapping_abs();
    a.min(two_l.wrapping_sub(a))
}

/// Bilinear samples at the 1/32-px coordinates of `c` with REFLECT_101, identical to
/// `linear_row_generic(.., BorderMode::Reflect101, ..)` on the same coordinates.
///
/// # Panics
/// If `c` and `out` differ in length or `g` is not `src`'s geometry.
pub(crate) fn linear_r101<C: Coords>(
    src: &ImageU8,
    g: &Geom,
    c: &C,
    out: &mut [u8],
    l: &mut Lanes,
) {
    assert!(c.len() == out.len(), "row lengths");
    assert!(
        src.width() == g.w as usize && src.height() == g.h as usize,
        "geometry"
    );
    linear_r101_at(Level::detect(), src, g, c, out, l);
}

/// The kernels a row runs (tests compare every level the CPU has).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Portable reference loops.
    Scalar,
    /// AVX2 passes (prepare, gather, blend).
    Avx2,
    /// AVX-512 F/BW/VL: 16 pixels from coordinates to bytes in registers.
    Avx512,
}

impl Level {
    /// The best level this CPU runs.
    #[inline(always)]
    pub(crate) fn detect() -> Self {
        if cpu::avx512bw() && cpu::avx2() {
            Self::Avx512
        } else if cpu::avx2() {
            Self::Avx2
        } else {
            Self::Scalar
        }
    }
}

/// [`linear_r101`] with the kernels of `level` (at most [`Level::detect`]).
pub(crate) fn linear_r101_at<C: Coords>(
    level: Level,
    src: &ImageU8,
    g: &Geom,
    c: &C,
    out: &mut [u8],
    l: &mut Lanes,
) {
    assert!(c.len() == out.len(), "row lengths");
    assert!(
        src.width() == g.w as usize && src.height() == g.h as usize,
        "geometry"
    );
    assert!(level <= Level::detect(), "kernel level above the CPU's");
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F/BW/VL and AVX2 are available (asserted above).
        Level::Avx512 => return unsafe { simd512::linear_row(src, g, c, out, l) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 is available (asserted above).
        Level::Avx2 => return unsafe { simd::linear_row(src, g, c, out, l) },
        _ => {}
    }
    let mut start = 0;
    while start < out.len() {
        let n = (out.len() - start).min(CHUNK);
        let o = &mut out[start..start + n];
        if prepare_linear_scalar(g, c, start, l, n) {
            // SAFETY: the prepare succeeded, so every offset is `y0 W + x0` with
            // `0 <= x0 <= W-2`, `0 <= y0 <= H-2`: bytes off .. off+1 and off+W .. off+W+1 exist.
            unsafe { gather_pairs(src.data(), g.w as usize, &l.off[..n], &mut l.tb[..n]) };
            blend_scalar(&l.tb[..n], &l.wx[..n], &l.wy[..n], o);
        } else {
            linear_fallback(src, c, start, o, l);
        }
        start += n;
    }
}

/// One bilinear sample at the 1/32-px coordinates `(x, y)` through the fold (the scalar path
/// of one pixel); `None` when a coordinate is outside `[-2L, 2L]`.
///
/// # Panics
/// If `data` is not the `W x H` image of `g`.
#[inline(always)]
fn linear_one(g: &Geom, data: &[u8], x: i32, y: i32) -> Option<u8> {
    assert!(data.len() == (g.w as usize) * (g.h as usize), "geometry");
    if x.unsigned_abs() > g.lx2 as u32 || y.unsigned_abs() > g.ly2 as u32 {
        return None;
    }
    let (tx, ty) = (fold(x, g.lx2), fold(y, g.ly2));
    let (x0, y0) = ((tx >> 5).min(g.w - 2), (ty >> 5).min(g.h - 2));
    let (fx, fy) = ((tx - (x0 << 5)) as u32, (ty - (y0 << 5)) as u32);
    let (o, w) = ((y0 * g.w + x0) as usize, g.w as usize);
    let p = |i: usize| u32::from(data[i]);
    let tb = p(o) | p(o + 1) << 8 | p(o + w) << 16 | p(o + w + 1) << 24;
    Some(blend_one(tb, pack_wx(fx), (32 - fy) | (fy << 16)))
}

/// The reference path for one chunk (coordinates through `at`, with i16 saturation).
#[inline(never)]
fn linear_fallback<C: Coords>(src: &ImageU8, c: &C, start: usize, o: &mut [u8], l: &mut Lanes) {
    let n = o.len();
    for i in 0..n {
        (l.xs[i], l.ys[i]) = c.at(start + i);
    }
    linear_row_generic(src, &l.xs[..n], &l.ys[..n], BorderMode::Reflect101, o);
}

#[inline(never)]
fn nearest_fallback<C: Coords>(src: &ImageU8, c: &C, start: usize, o: &mut [u8], l: &mut Lanes) {
    let n = o.len();
    for i in 0..n {
        (l.xs[i], l.ys[i]) = c.at(start + i);
    }
    nearest_row_generic(src, &l.xs[..n], &l.ys[..n], BorderMode::Reflect101, o);
}

/// Folds `yq` (1/32 px) into the source: `Some((y0, fy))` with `y0 <= H - 2`, `fy <= 32`.
pub(crate) fn fold_row(g: &Geom, yq: i32) -> Option<(usize, u32)> {
    if yq.unsigned_abs() > g.ly2 as u32 {
        return None;
    }
    let t = fold(yq, g.ly2);
    let r = (t >> 5).min(g.h - 2);
    Some((r as usize, (t - (r << 5)) as u32))
}

/// Folds a nearest index `i` into `[0, n)`: `None` outside `[-2(n-1), 2(n-1)]`.
pub(crate) fn fold_index(g: &Geom, i: i32, vertical: bool) -> Option<usize> {
    let two = if vertical { g.ny2 } else { g.nx2 };
    (i.unsigned_abs() <= two as u32).then(|| fold(i, two) as usize)
}

/// `(32-fx, fx, 32-fx, fx)` as bytes of a little-endian u32.
#[inline(always)]
fn pack_wx(fx: u32) -> u32 {
    let p = 255u32.wrapping_mul(fx).wrapping_add(32);
    p | (p << 16)
}

#[inline(always)]
fn prepare_linear_scalar<C: Coords>(
    g: &Geom,
    c: &C,
    start: usize,
    l: &mut Lanes,
    n: usize,
) -> bool {
    let mut ok = true;
    for i in 0..n {
        let (x, y) = c.at(start + i);
        ok &= x.unsigned_abs() <= g.lx2 as u32 && y.unsigned_abs() <= g.ly2 as u32;
        let (tx, ty) = (fold(x, g.lx2), fold(y, g.ly2));
        let (x0, y0) = ((tx >> 5).min(g.w - 2), (ty >> 5).min(g.h - 2));
        let (fx, fy) = (
            tx.wrapping_sub(x0 << 5) as u32,
            ty.wrapping_sub(y0 << 5) as u32,
        );
        l.off[i] = y0.wrapping_mul(g.w).wrapping_add(x0) as u32;
        l.wx[i] = pack_wx(fx);
        l.wy[i] = 32u32.wrapping_sub(fy) | (fy << 16);
    }
    ok
}

/// `tb[i] = u16(src[off]) | u16(src[off + w]) << 16` (little-endian pixel pairs).
///
/// # Safety
/// `off[i] + w + 1 < src.len()` for every `i`.
#[inline(always)]
unsafe fn gather_pairs(src: &[u8], w: usize, off: &[u32], tb: &mut [u32]) {
    debug_assert!(off.iter().all(|&o| (o as usize) + w + 1 < src.len()));
    let p = src.as_ptr();
    for (t, &o) in tb.iter_mut().zip(off) {
        let o = o as usize;
        let a = u16::from_le(std::ptr::read_unaligned(p.add(o) as *const u16));
        let b = u16::from_le(std::ptr::read_unaligned(p.add(o + w) as *const u16));
        *t = u32::from(a) | (u32::from(b) << 16);
    }
}

fn blend(tb: &[u32], wx: &[u32], wy: &[u32], out: &mut [u8], avx2: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2 {
            // SAFETY: AVX2 is available; equal lengths are asserted inside.
            unsafe { simd::blend(tb, wx, wy, out) };
            return;
        }
    }
    let _ = avx2;
    blend_scalar(tb, wx, wy, out);
}

#[inline(always)]
fn blend_one(tb: u32, wx: u32, wy: u32) -> u8 {
    let (p00, p01, p10, p11) = (tb & 0xff, (tb >> 8) & 0xff, (tb >> 16) & 0xff, tb >> 24);
    let (ax, bx) = (wx & 0xff, (wx >> 8) & 0xff);
    let (ay, by) = (wy & 0xffff, wy >> 16);
    let top = p00 * ax + p01 * bx;
    let bot = p10 * ax + p11 * bx;
    ((top * ay + bot * by + 512) >> 10) as u8
}

fn blend_scalar(tb: &[u32], wx: &[u32], wy: &[u32], out: &mut [u8]) {
    for (((o, &t), &a), &b) in out.iter_mut().zip(tb).zip(wx).zip(wy) {
        *o = blend_one(t, a, b);
    }
}

/// Nearest samples at the integer source indices of `c` with REFLECT_101, identical to
/// `nearest_row_generic(.., BorderMode::Reflect101, ..)`.
///
/// # Panics
/// If `c` and `out` differ in length or `g` is not `src`'s geometry.
pub(crate) fn nearest_r101<C: Coords>(
    src: &ImageU8,
    g: &Geom,
    support: &Support,
    c: &C,
    out: &mut [u8],
    l: &mut Lanes,
) {
    assert!(c.len() == out.len(), "row lengths");
    assert!(
        src.width() == g.w as usize && src.height() == g.h as usize,
        "geometry"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if cpu::avx2() {
            // SAFETY: AVX2 is available.
            unsafe { simd::nearest_row(src, g, support, c, out, l) };
            return;
        }
    }
    let mut start = 0;
    while start < out.len() {
        let n = (out.len() - start).min(NEAREST_CHUNK);
        let o = &mut out[start..start + n];
        if c.bounds(start, n).is_some_and(|b| support.misses(g, &b)) {
            o.fill(0);
            start += n;
            continue;
        }
        let mut ok = true;
        for i in 0..n {
            let (x, y) = c.at(start + i);
            ok &= x.unsigned_abs() <= g.nx2 as u32 && y.unsigned_abs() <= g.ny2 as u32;
            l.off[i] = fold(y, g.ny2)
                .wrapping_mul(g.w)
                .wrapping_add(fold(x, g.nx2)) as u32;
        }
        if ok {
            gather_bytes(src.data(), &l.off[..n], o);
        } else {
            nearest_fallback(src, c, start, o, l);
        }
        start += n;
    }
}

#[inline(always)]
fn gather_bytes(data: &[u8], off: &[u32], out: &mut [u8]) {
    debug_assert!(off.iter().all(|&o| (o as usize) < data.len()));
    for (d, &k) in out.iter_mut().zip(off) {
        // SAFETY: callers pass folded offsets `y W + x` with 0 <= x < W, 0 <= y < H.
        *d = unsafe { *data.get_unchecked(k as usize) };
    }
}

mod columns;
#[cfg(target_arch = "x86_64")]
pub(crate) mod simd;
#[cfg(target_arch = "x86_64")]
mod simd512;

#[cfg(test)]
mod tests;
