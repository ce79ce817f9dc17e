//! AVX-512 kernels of the fast elastic fields' two smoothing passes. Each output element sees
//! exactly the operations of the scalar reference in `mod.rs` (`c * k0`, then
//! `fma(a + b, k_d, acc)` for `d = 1..r` in order), so results equal the AVX2 and scalar ones
//! bit for bit; 16 lanes halve the arithmetic instructions of the AVX2 kernels.
//!
//! Both passes share loads between neighbouring outputs ([`hblock`], [`vblock`]): with the
//! taps `d` in order, the operands of consecutive steps are one register apart, so rings of
//! registers give every step its `2 V` operands for 2 loads. The passes then run at the FMA /
//! add throughput instead of the load throughput (about 1.8x (horizontal) and 1.4x (vertical)
//! faster than one load per operand on AMD Zen 4; the arithmetic is unchanged).

use super::LANES;
use std::arch::x86_64::*;

/// Runs `$step!(d % 8, d)` for `d = 1..=r`, unrolled by 8 (constant phases).
macro_rules! unrolled_steps {
    ($step:ident, $r:expr) => {{
        let r: usize = $r;
        let mut d = 1;
        while d + 7 <= r {
            $step!(1, d);
            $step!(2, d + 1);
            $step!(3, d + 2);
            $step!(4, d + 3);
            $step!(5, d + 4);
            $step!(6, d + 5);
            $step!(7, d + 6);
            $step!(0, d + 7);
            d += 8;
        }
        // d % 8 == 1 here; `left` (at most 7) steps remain
        let left = r + 1 - d;
        if left > 0 {
            $step!(1, d);
        }
        if left > 1 {
            $step!(2, d + 1);
        }
        if left > 2 {
            $step!(3, d + 2);
        }
        if left > 3 {
            $step!(4, d + 3);
        }
        if left > 4 {
            $step!(5, d + 4);
        }
        if left > 5 {
            $step!(6, d + 5);
        }
        if left > 6 {
            $step!(7, d + 6);
        }
    }};
}

/// Independent accumulators per step (hides the FMA latency).
const ACC: usize = 4;

/// [`super::hpass`]: a 512-bit register holds two adjacent columns of the 8 interleaved rows;
/// [`hblock`] makes 8 columns per step while a column past them exists, then steps of 8 and
/// 2 columns with one load per operand, and the last odd column goes through the scalar path.
///
/// # Safety
/// AVX-512F; `p.len() >= (w + 2r) * 8`, `out.len() >= w * 8`, `k.len() = r + 1`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn hpass(p: &[f32], k: &[f32], w: usize, out: &mut [f32]) {
    let r = k.len() - 1;
    let (pp, op) = (p.as_ptr(), out.as_mut_ptr());
    // 16 floats from column i: columns i and i + 1
    let ld = |i: usize| _mm512_loadu_ps(pp.add(i * LANES));
    let k0 = _mm512_set1_ps(k[0]);
    let mut x = 0;
    macro_rules! step {
        ($v:expr) => {{
            const V: usize = $v;
            let c: [usize; V] = std::array::from_fn(|m| x + r + 2 * m);
            let mut a: [__m512; V] = std::array::from_fn(|m| _mm512_mul_ps(ld(c[m]), k0));
            for d in 1..=r {
                let kd = _mm512_set1_ps(k[d]);
                for m in 0..V {
                    a[m] = _mm512_fmadd_ps(_mm512_add_ps(ld(c[m] - d), ld(c[m] + d)), kd, a[m]);
                }
            }
            for m in 0..V {
                _mm512_storeu_ps(op.add((x + 2 * m) * LANES), a[m]);
            }
            x += 2 * V;
        }};
    }
    while x + 2 * HV < w && r > 0 {
        hblock(pp, k, x, op);
        x += 2 * HV;
    }
    while x + 2 * ACC <= w {
        step!(ACC);
    }
    while x + 2 <= w {
        step!(1);
    }
    if x < w {
        super::hpass_scalar_columns(p, k, x..w, out);
    }
}

/// Output registers per [`hblock`].
const HV: usize = 4;

/// The outputs `x .. x + 2 HV` of [`hpass`] (`r >= 1`), sharing loads between them: output
/// register `m` (columns `x + 2m`, `+1`, centre `c + 2m` with `c = x + r`) needs `L(c + 2m - d)`
/// and `L(c + 2m + d)` at step `d` (`L(i)`: the 16 floats of columns `i`, `i + 1`). Two rings of
/// 8 registers hold `lw[(j - d) % 8] = L(c + j - d)` and `rw[(j + d) % 8] = L(c + j + d)` for
/// `j < 8` (outputs use the even `j`); each step loads one new register into each, over the
/// one no output needs any more (2 loads per step instead of `2 HV`). The rings start as
/// `L(c .. c + 8)` (`d = 0`); the steps are unrolled by 8 so that every ring index is constant.
///
/// # Safety
/// As [`hpass`], and `x + 2 HV < w` (the rings read up to column `x + 2r + 2 HV`).
#[inline(always)]
unsafe fn hblock(pp: *const f32, k: &[f32], x: usize, op: *mut f32) {
    const N: usize = 2 * HV;
    let r = k.len() - 1;
    let ld = |i: usize| _mm512_loadu_ps(pp.add(i * LANES));
    let c = x + r;
    let k0 = _mm512_set1_ps(k[0]);
    let mut lw: [__m512; N] = std::array::from_fn(|j| ld(c + j));
    let mut rw = lw;
    let mut a: [__m512; HV] = std::array::from_fn(|m| _mm512_mul_ps(lw[2 * m], k0));
    macro_rules! step {
        ($p:expr, $d:expr) => {{
            // P = d % 8
            const P: usize = $p;
            let d: usize = $d;
            lw[(N - P) % N] = ld(c - d);
            rw[(N - 1 + P) % N] = ld(c + N - 1 + d);
            let kd = _mm512_set1_ps(k[d]);
            for m in 0..HV {
                let s = _mm512_add_ps(lw[(2 * m + N - P) % N], rw[(2 * m + P) % N]);
                a[m] = _mm512_fmadd_ps(s, kd, a[m]);
            }
        }};
    }
    unrolled_steps!(step, r);
    for (m, v) in a.into_iter().enumerate() {
        _mm512_storeu_ps(op.add((x + 2 * m) * LANES), v);
    }
}

/// [`super::vpass`]: 16 columns of all 8 output rows per step (see [`vblock`]), then the
/// scalar reference for the last `w % 16` columns.
///
/// # Safety
/// AVX-512F; `rows.len() = 2r + 8`, every `rows[i] + w <= ring.len()`,
/// `out.len() = 8 w`, `k.len() = r + 1`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn vpass(ring: &[f32], rows: &[usize], k: &[f32], w: usize, out: &mut [f32]) {
    let r = k.len() - 1;
    let mut x = 0;
    while x + 16 <= w {
        vblock(ring.as_ptr(), rows, k, x, out.as_mut_ptr(), w);
        x += 16;
    }
    if x < w {
        for j in 0..LANES {
            let rs = &rows[j..j + 2 * r + 1];
            super::vpass_scalar(ring, rs, k, x..w, &mut out[j * w..(j + 1) * w]);
        }
    }
}

/// Columns `x .. x + 16` of the 8 output rows of [`vpass`], sharing loads between the rows:
/// output row `j` (local centre row `r + j`) needs rows `r + j - d` and `r + j + d` at step
/// `d`. Two rings of 8 registers hold them: `lw[(j - d) % 8] = row(r + j - d)` and
/// `rw[(j + d) % 8] = row(r + j + d)`; step `d` loads `row(r - d)` over the one row of `lw`
/// that no output needs any more, and `row(r + 7 + d)` likewise in `rw` (2 loads per step
/// instead of 16). Both rings start as the 8 centre rows (`d = 0`); the steps are unrolled by 8
/// so that every ring index is a constant and the rings stay in registers.
///
/// # Safety
/// As [`vpass`], and `x + 16 <= w`.
#[inline(always)]
unsafe fn vblock(base: *const f32, rows: &[usize], k: &[f32], x: usize, op: *mut f32, w: usize) {
    const N: usize = LANES;
    let r = k.len() - 1;
    let ld = |i: usize| _mm512_loadu_ps(base.add(rows[i] + x));
    let k0 = _mm512_set1_ps(k[0]);
    let mut lw: [__m512; N] = std::array::from_fn(|j| ld(r + j));
    let mut rw = lw;
    let mut a: [__m512; N] = std::array::from_fn(|j| _mm512_mul_ps(lw[j], k0));
    macro_rules! step {
        ($p:expr, $d:expr) => {{
            // P = d % 8
            const P: usize = $p;
            let d: usize = $d;
            lw[(N - P) % N] = ld(r - d);
            rw[(N - 1 + P) % N] = ld(r + N - 1 + d);
            let kd = _mm512_set1_ps(k[d]);
            for j in 0..N {
                let s = _mm512_add_ps(lw[(j + N - P) % N], rw[(j + P) % N]);
                a[j] = _mm512_fmadd_ps(s, kd, a[j]);
            }
        }};
    }
    unrolled_steps!(step, r);
    for (j, v) in a.into_iter().enumerate() {
        _mm512_storeu_ps(op.add(j * w + x), v);
    }
}
