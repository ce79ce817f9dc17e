//! AVX2 + FMA kernels of the fast elastic fields: the generator, the horizontal pass on 8
//! interleaved rows and the two-row vertical pass. Each output element sees exactly the
//! operations of the scalar reference in `mod.rs` (`c * k0`, then `fma(a + b, k_d, acc)` for
//! `d = 1..r` in order), so results are bit-identical.
//!
//! Two outputs share loads: for outputs `c` and `c + 1` the step `d` loads `P(c - d)`,
//! `P(c + d)` and `P(c + 2 - d)`; the first pair feeds output `c` at distance `d`, the
//! second (`P(c+2-d) + P(c+d)`) feeds output `c + 1` at distance `d - 1`.

use super::LANES;
use std::arch::x86_64::*;

/// [`super::Xoshiro8::fill_scalar`], eight lanes per register.
///
/// # Safety
/// AVX2; `out.len()` is a multiple of 8.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn fill(s: &mut [[u32; LANES]; 4], out: &mut [f32]) {
    let ld = |a: &[u32; LANES]| _mm256_loadu_si256(a.as_ptr() as *const __m256i);
    let (mut s0, mut s1, mut s2, mut s3) = (ld(&s[0]), ld(&s[1]), ld(&s[2]), ld(&s[3]));
    let bias = _mm256_set1_epi32(1 << 23);
    let scale = _mm256_set1_ps(1.0 / 8_388_608.0);
    for chunk in out.chunks_exact_mut(LANES) {
        let r = _mm256_add_epi32(s0, s3);
        let v = _mm256_sub_epi32(_mm256_srli_epi32::<8>(r), bias);
        _mm256_storeu_ps(
            chunk.as_mut_ptr(),
            _mm256_mul_ps(_mm256_cvtepi32_ps(v), scale),
        );
        let t = _mm256_slli_epi32::<9>(s1);
        s2 = _mm256_xor_si256(s2, s0);
        s3 = _mm256_xor_si256(s3, s1);
        s1 = _mm256_xor_si256(s1, s2);
        s0 = _mm256_xor_si256(s0, s3);
        s2 = _mm256_xor_si256(s2, t);
        s3 = _mm256_or_si256(_mm256_slli_epi32::<11>(s3), _mm256_srli_epi32::<21>(s3));
    }
    for (dst, v) in s.iter_mut().zip([s0, s1, s2, s3]) {
        _mm256_storeu_si256(dst.as_mut_ptr() as *mut __m256i, v);
    }
}

/// [`super::hpass`]: four pairs of adjacent columns (8 outputs) per step, then single columns.
///
/// # Safety
/// AVX2 and FMA; `p.len() >= (w + 2r) * 8`, `out.len() >= w * 8`, `k.len() = r + 1`.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // taps at c - d and c + d
pub(super) unsafe fn hpass(p: &[f32], k: &[f32], w: usize, out: &mut [f32]) {
    let r = k.len() - 1;
    let (pp, op) = (p.as_ptr(), out.as_mut_ptr());
    let ld = |i: usize| _mm256_loadu_ps(pp.add(i * LANES));
    let k0 = _mm256_set1_ps(k[0]);
    let mut x = 0;
    while x + 8 <= w && r > 0 {
        // centres of the outputs x + 2m (the partner output is x + 2m + 1)
        let c = [x + r, x + r + 2, x + r + 4, x + r + 6];
        let mut a0 = c.map(|c| _mm256_mul_ps(ld(c), k0));
        let mut a1 = c.map(|c| _mm256_mul_ps(ld(c + 1), k0));
        let k1 = _mm256_set1_ps(k[1]);
        for m in 0..4 {
            a0[m] = _mm256_fmadd_ps(_mm256_add_ps(ld(c[m] - 1), ld(c[m] + 1)), k1, a0[m]);
        }
        for d in 2..=r {
            let (kd, kp) = (_mm256_set1_ps(k[d]), _mm256_set1_ps(k[d - 1]));
            for m in 0..4 {
                let b = ld(c[m] + d);
                a0[m] = _mm256_fmadd_ps(_mm256_add_ps(ld(c[m] - d), b), kd, a0[m]);
                a1[m] = _mm256_fmadd_ps(_mm256_add_ps(ld(c[m] + 2 - d), b), kp, a1[m]);
            }
        }
        let kr = _mm256_set1_ps(k[r]);
        for m in 0..4 {
            let t = _mm256_add_ps(ld(c[m] + 1 - r), ld(c[m] + 1 + r));
            a1[m] = _mm256_fmadd_ps(t, kr, a1[m]);
            _mm256_storeu_ps(op.add((x + 2 * m) * LANES), a0[m]);
            _mm256_storeu_ps(op.add((x + 2 * m + 1) * LANES), a1[m]);
        }
        x += 8;
    }
    while x < w {
        let c = x + r;
        let mut a = _mm256_mul_ps(ld(c), k0);
        for d in 1..=r {
            a = _mm256_fmadd_ps(_mm256_add_ps(ld(c - d), ld(c + d)), _mm256_set1_ps(k[d]), a);
        }
        _mm256_storeu_ps(op.add(x * LANES), a);
        x += 1;
    }
}

/// [`super::vpass`]: column blocks of 64 (their 2r + 8 source rows stay in L1 while the
/// four row pairs of the group use them), 32 columns (4 vectors) of both rows of a pair per
/// step, then 8-column steps, then the scalar reference for the last `w % 8` columns.
///
/// # Safety
/// AVX2 and FMA; `rows.len() = 2r + 8`, every `rows[i] + w <= ring.len()`,
/// `out.len() = 8 w`, `k.len() = r + 1`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn vpass(ring: &[f32], rows: &[usize], k: &[f32], w: usize, out: &mut [f32]) {
    let r = k.len() - 1;
    let base = ring.as_ptr();
    let k0 = _mm256_set1_ps(k[0]);
    let op = out.as_mut_ptr();
    for xb in (0..w).step_by(64) {
        let xe = (xb + 64).min(w);
        for pair in 0..LANES / 2 {
            // local row i = source row (y + 2 pair) - r + i
            let row = |i: usize| base.add(rows[2 * pair + i]);
            let (o0, o1) = (op.add(2 * pair * w), op.add((2 * pair + 1) * w));
            let mut x = xb;
            macro_rules! block {
                ($v:expr) => {{
                    const V: usize = $v;
                    let ld = |i: usize, m: usize| _mm256_loadu_ps(row(i).add(x + 8 * m));
                    let mut a0: [__m256; V] = std::array::from_fn(|m| _mm256_mul_ps(ld(r, m), k0));
                    let mut a1: [__m256; V] =
                        std::array::from_fn(|m| _mm256_mul_ps(ld(r + 1, m), k0));
                    if r > 0 {
                        let k1 = _mm256_set1_ps(k[1]);
                        for m in 0..V {
                            let s = _mm256_add_ps(ld(r - 1, m), ld(r + 1, m));
                            a0[m] = _mm256_fmadd_ps(s, k1, a0[m]);
                        }
                        for d in 2..=r {
                            let (kd, kp) = (_mm256_set1_ps(k[d]), _mm256_set1_ps(k[d - 1]));
                            let (lo, hi, lo1) = (row(r - d), row(r + d), row(r + 2 - d));
                            for m in 0..V {
                                let b = _mm256_loadu_ps(hi.add(x + 8 * m));
                                let s = _mm256_add_ps(_mm256_loadu_ps(lo.add(x + 8 * m)), b);
                                let t = _mm256_add_ps(_mm256_loadu_ps(lo1.add(x + 8 * m)), b);
                                a0[m] = _mm256_fmadd_ps(s, kd, a0[m]);
                                a1[m] = _mm256_fmadd_ps(t, kp, a1[m]);
                            }
                        }
                        let kr = _mm256_set1_ps(k[r]);
                        for m in 0..V {
                            let t = _mm256_add_ps(ld(1, m), ld(2 * r + 1, m));
                            a1[m] = _mm256_fmadd_ps(t, kr, a1[m]);
                        }
                    }
                    for m in 0..V {
                        _mm256_storeu_ps(o0.add(x + 8 * m), a0[m]);
                        _mm256_storeu_ps(o1.add(x + 8 * m), a1[m]);
                    }
                    x += 8 * V;
                }};
            }
            while x + 32 <= xe {
                block!(4);
            }
            while x + 8 <= xe {
                block!(1);
            }
            for (j, o) in [(2 * pair, o0), (2 * pair + 1, o1)] {
                let rs = &rows[j..j + 2 * r + 1];
                super::vpass_scalar(ring, rs, k, x..xe, std::slice::from_raw_parts_mut(o, w));
            }
        }
    }
}

/// [`super::transpose`] for a full group: 8x8 blocks through registers.
///
/// # Safety
/// AVX2; `src.len() >= 8 w`, `slots.len() == 8`, every `slots[j] + w <= ring.len()`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn transpose(src: &[f32], ring: &mut [f32], slots: &[usize], w: usize) {
    let (sp, rp) = (src.as_ptr(), ring.as_mut_ptr());
    let mut x = 0;
    while x + 8 <= w {
        let v: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(sp.add((x + i) * LANES)));
        let t0 = _mm256_unpacklo_ps(v[0], v[1]);
        let t1 = _mm256_unpackhi_ps(v[0], v[1]);
        let t2 = _mm256_unpacklo_ps(v[2], v[3]);
        let t3 = _mm256_unpackhi_ps(v[2], v[3]);
        let t4 = _mm256_unpacklo_ps(v[4], v[5]);
        let t5 = _mm256_unpackhi_ps(v[4], v[5]);
        let t6 = _mm256_unpacklo_ps(v[6], v[7]);
        let t7 = _mm256_unpackhi_ps(v[6], v[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let rows = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        for (j, v) in rows.into_iter().enumerate() {
            _mm256_storeu_ps(rp.add(slots[j] + x), v);
        }
        x += 8;
    }
    for x in x..w {
        for (j, &o) in slots.iter().enumerate() {
            *rp.add(o + x) = src[x * LANES + j];
        }
    }
}
