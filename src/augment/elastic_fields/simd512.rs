//! AVX-512 kernels of the fast elastic fields' two smoothing passes. Each output element sees
//! exactly the operations of the scalar reference in `mod.rs` (`c * k0`, then
//! `fma(a + b, k_d, acc)` for `d = 1..r` in order), so results equal the AVX2 and scalar ones
//! bit for bit; 16 lanes halve the arithmetic instructions of the AVX2 kernels.

use super::LANES;
use std::arch::x86_64::*;

/// Independent accumulators per step (hides the FMA latency).
const ACC: usize = 4;

/// [`super::hpass`]: a 512-bit register holds two adjacent columns of the 8 interleaved rows,
/// so a step makes 8 columns (4 registers); the last odd column goes through the scalar path.
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

/// [`super::vpass`]: column blocks of 64 (their 2r + 8 source rows stay in L1 while the
/// four row pairs of the group use them), 64 columns (4 registers) of both rows of a pair per
/// step, then 16-column steps, then the scalar reference for the last `w % 16` columns. The
/// two rows of a pair share loads: for outputs `c` and `c + 1` the step `d` loads `P(c - d)`,
/// `P(c + d)` and `P(c + 2 - d)` (output `c` at distance `d`, output `c + 1` at `d - 1`).
///
/// # Safety
/// AVX-512F; `rows.len() = 2r + 8`, every `rows[i] + w <= ring.len()`,
/// `out.len() = 8 w`, `k.len() = r + 1`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn vpass(ring: &[f32], rows: &[usize], k: &[f32], w: usize, out: &mut [f32]) {
    let r = k.len() - 1;
    let base = ring.as_ptr();
    let k0 = _mm512_set1_ps(k[0]);
    let op = out.as_mut_ptr();
    for xb in (0..w).step_by(64) {
        let xe = (xb + 64).min(w);
        for pair in 0..LANES / 2 {
            // local row i = source row (y + 2 pair) - r + i
            let row = |i: usize| base.add(rows[2 * pair + i]);
            let (o0, o1) = (op.add(2 * pair * w), op.add((2 * pair + 1) * w));
            let mut x = xb;
            macro_rules! step {
                ($v:expr) => {{
                    const V: usize = $v;
                    let ld = |i: usize, m: usize| _mm512_loadu_ps(row(i).add(x + 16 * m));
                    let mut a0: [__m512; V] = std::array::from_fn(|m| _mm512_mul_ps(ld(r, m), k0));
                    let mut a1: [__m512; V] =
                        std::array::from_fn(|m| _mm512_mul_ps(ld(r + 1, m), k0));
                    if r > 0 {
                        let k1 = _mm512_set1_ps(k[1]);
                        for m in 0..V {
                            let s = _mm512_add_ps(ld(r - 1, m), ld(r + 1, m));
                            a0[m] = _mm512_fmadd_ps(s, k1, a0[m]);
                        }
                        for d in 2..=r {
                            let (kd, kp) = (_mm512_set1_ps(k[d]), _mm512_set1_ps(k[d - 1]));
                            let (lo, hi, lo1) = (row(r - d), row(r + d), row(r + 2 - d));
                            for m in 0..V {
                                let b = _mm512_loadu_ps(hi.add(x + 16 * m));
                                let s = _mm512_add_ps(_mm512_loadu_ps(lo.add(x + 16 * m)), b);
                                let t = _mm512_add_ps(_mm512_loadu_ps(lo1.add(x + 16 * m)), b);
                                a0[m] = _mm512_fmadd_ps(s, kd, a0[m]);
                                a1[m] = _mm512_fmadd_ps(t, kp, a1[m]);
                            }
                        }
                        let kr = _mm512_set1_ps(k[r]);
                        for m in 0..V {
                            let t = _mm512_add_ps(ld(1, m), ld(2 * r + 1, m));
                            a1[m] = _mm512_fmadd_ps(t, kr, a1[m]);
                        }
                    }
                    for m in 0..V {
                        _mm512_storeu_ps(o0.add(x + 16 * m), a0[m]);
                        _mm512_storeu_ps(o1.add(x + 16 * m), a1[m]);
                    }
                    x += 16 * V;
                }};
            }
            while x + 16 * ACC <= xe {
                step!(ACC);
            }
            while x + 16 <= xe {
                step!(1);
            }
            for (j, o) in [(2 * pair, o0), (2 * pair + 1, o1)] {
                let rs = &rows[j..j + 2 * r + 1];
                super::vpass_scalar(ring, rs, k, x..xe, std::slice::from_raw_parts_mut(o, w));
            }
        }
    }
}
