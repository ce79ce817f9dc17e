//! Separable bilinear / nearest rows (GridDistortion): the columns are quantised and folded
//! once per image, each output row then reads one source row pair with fixed weights.

#[cfg(target_arch = "x86_64")]
use super::simd512;
use super::{blend, blend_one, fold, fold_index, gather_pairs, pack_wx, Geom, Lanes, Level, CHUNK};
use crate::augment::ImageU8;

/// Folded columns of a separable map (GridDistortion) for a source of width `w`: bilinear
/// `x0 <= w - 2` with packed weights, or nearest indices `< w`.
pub(crate) struct Columns {
    w: usize,
    x0: Vec<u32>,
    wx: Vec<u32>,
}

impl Columns {
    /// Bilinear columns from 1/32-px coordinates; `None` if one is outside `[-2L, 2L]`
    /// (then the caller uses the reference path).
    pub(crate) fn linear(g: &Geom, xs: &[i32]) -> Option<Self> {
        let mut c = Self {
            w: g.w as usize,
            x0: Vec::with_capacity(xs.len()),
            wx: Vec::with_capacity(xs.len()),
        };
        for &x in xs {
            if x.unsigned_abs() > g.lx2 as u32 {
                return None;
            }
            let t = fold(x, g.lx2);
            let x0 = (t >> 5).min(g.w - 2);
            c.x0.push(x0 as u32);
            c.wx.push(pack_wx((t - (x0 << 5)) as u32));
        }
        Some(c)
    }

    /// Nearest columns from integer indices; `None` if one is outside `[-2(w-1), 2(w-1)]`.
    pub(crate) fn nearest(g: &Geom, xs: &[i32]) -> Option<Self> {
        let x0 = xs
            .iter()
            .map(|&x| fold_index(g, x, false).map(|i| i as u32))
            .collect::<Option<Vec<u32>>>()?;
        Some(Self {
            w: g.w as usize,
            x0,
            wx: Vec::new(),
        })
    }

    /// Bilinear row from source rows `y0`, `y0 + 1` with vertical fraction `fy`.
    ///
    /// # Panics
    /// If `src` is not `w` wide, `y0 + 1 >= H`, or `out` is not as long as the columns.
    pub(crate) fn linear_row(
        &self,
        src: &ImageU8,
        y0: usize,
        fy: u32,
        out: &mut [u8],
        l: &mut Lanes,
    ) {
        self.linear_row_at(Level::detect(), src, y0, fy, out, l);
    }

    /// [`Self::linear_row`] with the kernels of `level` (at most [`Level::detect`]).
    pub(crate) fn linear_row_at(
        &self,
        level: Level,
        src: &ImageU8,
        y0: usize,
        fy: u32,
        out: &mut [u8],
        l: &mut Lanes,
    ) {
        let w = self.w;
        assert!(src.width() == w && y0 + 1 < src.height() && self.wx.len() == out.len());
        assert!(
            fy <= 32 && level <= Level::detect(),
            "row weight, kernel level"
        );
        #[cfg(target_arch = "x86_64")]
        if level == Level::Avx512 {
            let qw = (32 - fy) | (fy << 16);
            // SAFETY: AVX-512F/BW/VL are available (asserted above); `Columns::linear` made
            // every x0 <= w - 2 and y0 + 1 < H: the row pair at `y0 W` holds every pixel pair.
            unsafe { simd512::columns_row(src, (y0 * w) as u32, &self.x0, &self.wx, qw, out) };
            return;
        }
        let avx2 = level >= Level::Avx2;
        l.wy = [(32 - fy) | (fy << 16); CHUNK];
        let base = (y0 * w) as u32;
        for ((xc, wc), oc) in self
            .x0
            .chunks(CHUNK)
            .zip(self.wx.chunks(CHUNK))
            .zip(out.chunks_mut(CHUNK))
        {
            let n = xc.len();
            for (o, &x) in l.off[..n].iter_mut().zip(xc) {
                *o = base + x;
            }
            // SAFETY: `Columns::linear` made every x0 <= w - 2, and y0 + 1 < H: bytes
            // off, off + 1, off + w, off + w + 1 are inside the image.
            unsafe { gather_pairs(src.data(), w, &l.off[..n], &mut l.tb[..n]) };
            blend(&l.tb[..n], wc, &l.wy[..n], oc, avx2);
        }
    }

    /// Nearest row from source row `y`.
    ///
    /// # Panics
    /// If `src` is not `w` wide, `y >= H`, or `out` is not as long as the columns.
    pub(crate) fn nearest_row(&self, src: &ImageU8, y: usize, out: &mut [u8]) {
        assert!(src.width() == self.w && self.x0.len() == out.len());
        let row = src.row(y);
        for (o, &c) in out.iter_mut().zip(&self.x0) {
            // SAFETY: `Columns::nearest` folded every index into 0..w and `row` is w long.
            *o = unsafe { *row.get_unchecked(c as usize) };
        }
    }
}

/// The scalar tail of a separable row (see [`Columns::linear_row`]): row offset `base_off`,
/// folded columns `x0`, packed weights `wx`, row weights `qw`.
///
/// # Panics
/// If a pixel pair is outside `data` or the slices differ in length.
pub(super) fn columns_tail(
    data: &[u8],
    w: usize,
    base_off: u32,
    x0: &[u32],
    wx: &[u32],
    qw: u32,
    out: &mut [u8],
) {
    assert!(x0.len() == out.len() && wx.len() == out.len());
    for ((o, &x), &a) in out.iter_mut().zip(x0).zip(wx) {
        let i = (base_off + x) as usize;
        let p = |i: usize| u32::from(data[i]);
        let tb = p(i) | p(i + 1) << 8 | p(i + w) << 16 | p(i + w + 1) << 24;
        *o = blend_one(tb, a, qw);
    }
}
