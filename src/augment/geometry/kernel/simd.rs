//! AVX2 versions of the kernel loops (8 / 16 pixels per step, scalar tails): prepare
//! (fold, offsets, packed weights), blend, and the row drivers that call them.

use super::{
    blend_one, fold as fold1, gather_bytes, gather_pairs, linear_fallback, nearest_fallback,
    pack_wx, Coords, Geom, Lanes, Support, CHUNK, NEAREST_CHUNK,
};
use crate::augment::ImageU8;
use std::arch::x86_64::*;

/// Eight i32 lanes.
pub(crate) type V = __m256i;

/// `v[i .. i + 8]`.
///
/// # Safety
/// AVX2; `i + 8 <= v.len()`.
#[inline(always)]
pub(crate) unsafe fn load_i32(v: &[i32], i: usize) -> V {
    debug_assert!(i + 8 <= v.len());
    _mm256_loadu_si256(v.as_ptr().add(i) as *const __m256i)
}

/// Lanes of `v` outside `[-lim, lim]`, as an all-ones mask.
#[inline(always)]
unsafe fn outside(v: __m256i, lim: __m256i, nlim: __m256i) -> __m256i {
    _mm256_or_si256(_mm256_cmpgt_epi32(v, lim), _mm256_cmpgt_epi32(nlim, v))
}

#[inline(always)]
unsafe fn fold(v: __m256i, two_l: __m256i) -> __m256i {
    let a = _mm256_abs_epi32(v);
    _mm256_min_epi32(a, _mm256_sub_epi32(two_l, a))
}

#[target_feature(enable = "avx2")]
pub(super) unsafe fn linear_row<C: Coords>(
    src: &ImageU8,
    g: &Geom,
    c: &C,
    out: &mut [u8],
    l: &mut Lanes,
) {
    let mut start = 0;
    while start < out.len() {
        let n = (out.len() - start).min(CHUNK);
        let o = &mut out[start..start + n];
        if prepare_linear(g, c, start, n, l) {
            // SAFETY: see `super::linear_r101`.
            gather_pairs(src.data(), g.w as usize, &l.off[..n], &mut l.tb[..n]);
            blend(&l.tb[..n], &l.wx[..n], &l.wy[..n], o);
        } else {
            linear_fallback(src, c, start, o, l);
        }
        start += n;
    }
}

#[target_feature(enable = "avx2")]
pub(super) unsafe fn nearest_row<C: Coords>(
    src: &ImageU8,
    g: &Geom,
    support: &Support,
    c: &C,
    out: &mut [u8],
    l: &mut Lanes,
) {
    let mut start = 0;
    while start < out.len() {
        let n = (out.len() - start).min(NEAREST_CHUNK);
        let o = &mut out[start..start + n];
        if c.bounds(start, n).is_some_and(|b| support.misses(g, &b)) {
            o.fill(0);
        } else if prepare_nearest(g, support, c, start, n, l) {
            let data = src.data();
            let full = n / 8 * 8;
            for (k, (og, fg)) in o[..full]
                .chunks_exact_mut(8)
                .zip(l.off[..full].chunks_exact(8))
                .enumerate()
            {
                if l.keep[k] != 0 {
                    gather_bytes(data, fg, og);
                } else {
                    og.fill(0);
                }
            }
            gather_bytes(data, &l.off[full..n], &mut o[full..]);
        } else {
            nearest_fallback(src, c, start, o, l);
        }
        start += n;
    }
}

#[inline(always)]
unsafe fn prepare_linear<C: Coords>(
    g: &Geom,
    c: &C,
    start: usize,
    n: usize,
    l: &mut Lanes,
) -> bool {
    let (lx2, ly2) = (_mm256_set1_epi32(g.lx2), _mm256_set1_epi32(g.ly2));
    let (nlx2, nly2) = (_mm256_set1_epi32(-g.lx2), _mm256_set1_epi32(-g.ly2));
    let (wm2, hm2) = (_mm256_set1_epi32(g.w - 2), _mm256_set1_epi32(g.h - 2));
    let w = _mm256_set1_epi32(g.w);
    let c32 = _mm256_set1_epi32(32);
    let mut bad = _mm256_setzero_si256();
    let mut i = 0;
    while i + 8 <= n {
        let (x, y) = c.at8(start + i);
        bad = _mm256_or_si256(bad, outside(x, lx2, nlx2));
        bad = _mm256_or_si256(bad, outside(y, ly2, nly2));
        let tx = fold(x, lx2);
        let ty = fold(y, ly2);
        let x0 = _mm256_min_epi32(_mm256_srai_epi32::<5>(tx), wm2);
        let y0 = _mm256_min_epi32(_mm256_srai_epi32::<5>(ty), hm2);
        let fx = _mm256_sub_epi32(tx, _mm256_slli_epi32::<5>(x0));
        let fy = _mm256_sub_epi32(ty, _mm256_slli_epi32::<5>(y0));
        let o = _mm256_add_epi32(_mm256_mullo_epi32(y0, w), x0);
        // 32 + 255 fx, duplicated into both halves
        let p = _mm256_add_epi32(c32, _mm256_sub_epi32(_mm256_slli_epi32::<8>(fx), fx));
        let pw = _mm256_or_si256(p, _mm256_slli_epi32::<16>(p));
        // (32 - fy) | fy << 16
        let qw = _mm256_add_epi32(c32, _mm256_sub_epi32(_mm256_slli_epi32::<16>(fy), fy));
        _mm256_storeu_si256(l.off.as_mut_ptr().add(i) as *mut __m256i, o);
        _mm256_storeu_si256(l.wx.as_mut_ptr().add(i) as *mut __m256i, pw);
        _mm256_storeu_si256(l.wy.as_mut_ptr().add(i) as *mut __m256i, qw);
        i += 8;
    }
    let mut ok = _mm256_testz_si256(bad, bad) == 1;
    while i < n {
        let (x, y) = c.at(start + i);
        ok &= x.unsigned_abs() <= g.lx2 as u32 && y.unsigned_abs() <= g.ly2 as u32;
        let (tx, ty) = (fold1(x, g.lx2), fold1(y, g.ly2));
        let (x0, y0) = ((tx >> 5).min(g.w - 2), (ty >> 5).min(g.h - 2));
        let (fx, fy) = (
            tx.wrapping_sub(x0 << 5) as u32,
            ty.wrapping_sub(y0 << 5) as u32,
        );
        l.off[i] = y0.wrapping_mul(g.w).wrapping_add(x0) as u32;
        l.wx[i] = pack_wx(fx);
        l.wy[i] = 32u32.wrapping_sub(fy) | (fy << 16);
        i += 1;
    }
    ok
}

/// Folded offsets, and `keep[k] = 0` for groups of 8 that all fall outside `support`.
#[inline(always)]
unsafe fn prepare_nearest<C: Coords>(
    g: &Geom,
    support: &Support,
    c: &C,
    start: usize,
    n: usize,
    l: &mut Lanes,
) -> bool {
    let (nx2, ny2) = (_mm256_set1_epi32(g.nx2), _mm256_set1_epi32(g.ny2));
    let (nnx2, nny2) = (_mm256_set1_epi32(-g.nx2), _mm256_set1_epi32(-g.ny2));
    let w = _mm256_set1_epi32(g.w);
    // inside support <=> x0 - 1 < x < x1 + 1 (saturating at the i32 ends)
    let sx0 = _mm256_set1_epi32(support.x0.saturating_sub(1));
    let sx1 = _mm256_set1_epi32(support.x1.saturating_add(1));
    let sy0 = _mm256_set1_epi32(support.y0.saturating_sub(1));
    let sy1 = _mm256_set1_epi32(support.y1.saturating_add(1));
    let mut bad = _mm256_setzero_si256();
    let mut i = 0;
    while i + 8 <= n {
        let (x, y) = c.at8(start + i);
        bad = _mm256_or_si256(bad, outside(x, nx2, nnx2));
        bad = _mm256_or_si256(bad, outside(y, ny2, nny2));
        let (fx, fy) = (fold(x, nx2), fold(y, ny2));
        let inside = _mm256_and_si256(
            _mm256_and_si256(_mm256_cmpgt_epi32(fx, sx0), _mm256_cmpgt_epi32(sx1, fx)),
            _mm256_and_si256(_mm256_cmpgt_epi32(fy, sy0), _mm256_cmpgt_epi32(sy1, fy)),
        );
        l.keep[i / 8] = u8::from(_mm256_testz_si256(inside, inside) == 0);
        let o = _mm256_add_epi32(_mm256_mullo_epi32(fy, w), fx);
        _mm256_storeu_si256(l.off.as_mut_ptr().add(i) as *mut __m256i, o);
        i += 8;
    }
    let mut ok = _mm256_testz_si256(bad, bad) == 1;
    while i < n {
        let (x, y) = c.at(start + i);
        ok &= x.unsigned_abs() <= g.nx2 as u32 && y.unsigned_abs() <= g.ny2 as u32;
        l.off[i] = fold1(y, g.ny2)
            .wrapping_mul(g.w)
            .wrapping_add(fold1(x, g.nx2)) as u32;
        i += 1;
    }
    ok
}

#[target_feature(enable = "avx2")]
pub(super) unsafe fn blend(tb: &[u32], wx: &[u32], wy: &[u32], out: &mut [u8]) {
    let n = out.len();
    assert!(tb.len() == n && wx.len() == n && wy.len() == n);
    let round = _mm256_set1_epi32(512);
    let one = |i: usize| -> __m256i {
        let t = _mm256_loadu_si256(tb.as_ptr().add(i) as *const __m256i);
        let a = _mm256_loadu_si256(wx.as_ptr().add(i) as *const __m256i);
        let b = _mm256_loadu_si256(wy.as_ptr().add(i) as *const __m256i);
        let tbm = _mm256_maddubs_epi16(t, a); // (top, bot) as i16 pairs
        let s = _mm256_madd_epi16(tbm, b); // (32-fy) top + fy bot
        _mm256_srai_epi32::<10>(_mm256_add_epi32(s, round))
    };
    let mut i = 0;
    while i + 16 <= n {
        let lo = one(i);
        let hi = one(i + 8);
        // packus: [lo0-3 hi0-3 | lo4-7 hi4-7] -> reorder to 0..15 as u16
        let w16 = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(lo, hi));
        let b8 = _mm256_packus_epi16(w16, w16); // [0-7 0-7 | 8-15 8-15]
        let b8 = _mm256_permute4x64_epi64::<0b00_00_10_00>(b8);
        _mm_storeu_si128(
            out.as_mut_ptr().add(i) as *mut __m128i,
            _mm256_castsi256_si128(b8),
        );
        i += 16;
    }
    for k in i..n {
        out[k] = blend_one(tb[k], wx[k], wy[k]);
    }
}
