//! `np.argsort(values)` of numpy 1.23.5 for float64 (its default `kind="quicksort"`).
//!
//! The solution orders contours with `np.argsort(areas)[::-1]`, so which of several equal-area
//! contours `extract_largest` keeps is decided by numpy's introsort: median-of-3 quicksort on
//! index arrays, insertion sort for partitions of at most 16 elements (stable there), heapsort
//! when the recursion budget (2 * floor(log2 n)) runs out. This is a line-by-line port of
//! `aquicksort_<npy::double_tag>` and `aheapsort_` (numpy 1.23 has no SIMD argsort), so the tie
//! order is numpy's, not a stable one. Values must not be NaN (contour areas never are).

const SMALL_QUICKSORT: usize = 15;

/// Writes into `order` the permutation `np.argsort(values)` (ascending, numpy's tie order).
pub fn argsort_into(values: &[f64], order: &mut Vec<usize>) {
    order.clear();
    order.extend(0..values.len());
    let num = values.len();
    if num < 2 {
        return;
    }
    let v = values;
    let t = order.as_mut_slice();
    let mut stack: Vec<(usize, usize, i32)> = Vec::new();
    let (mut pl, mut pr) = (0usize, num - 1);
    let mut cdepth = 2 * msb(num) as i32;
    loop {
        if cdepth < 0 {
            aheapsort(v, &mut t[pl..=pr]);
        } else {
            while pr - pl > SMALL_QUICKSORT {
                let pm = pl + ((pr - pl) >> 1);
                if v[t[pm]] < v[t[pl]] {
                    t.swap(pm, pl);
                }
                if v[t[pr]] < v[t[pm]] {
                    t.swap(pr, pm);
                }
                if v[t[pm]] < v[t[pl]] {
                    t.swap(pm, pl);
                }
                let vp = v[t[pm]];
                let mut pi = pl;
                let mut pj = pr - 1;
                t.swap(pm, pj);
                loop {
                    pi += 1;
                    while v[t[pi]] < vp {
                        pi += 1;
                    }
                    pj -= 1;
                    while vp < v[t[pj]] {
                        pj -= 1;
                    }
                    if pi >= pj {
                        break;
                    }
                    t.swap(pi, pj);
                }
                t.swap(pi, pr - 1);
                // push the larger partition, continue with the smaller
                cdepth -= 1;
                if pi - pl < pr - pi {
                    stack.push((pi + 1, pr, cdepth));
                    pr = pi - 1;
                } else {
                    stack.push((pl, pi - 1, cdepth));
                    pl = pi + 1;
                }
            }
            for pi in pl + 1..=pr {
                let vi = t[pi];
                let vp = v[vi];
                let mut pj = pi;
                while pj > pl && vp < v[t[pj - 1]] {
                    t[pj] = t[pj - 1];
                    pj -= 1;
                }
                t[pj] = vi;
            }
        }
        match stack.pop() {
            Some((l, r, d)) => {
                pl = l;
                pr = r;
                cdepth = d;
            }
            None => break,
        }
    }
}

/// numpy's `npy_get_msb`: floor(log2(n)) for n >= 1.
fn msb(mut n: usize) -> u32 {
    let mut depth = 0;
    while n > 1 {
        n >>= 1;
        depth += 1;
    }
    depth
}

/// numpy's `aheapsort_` on the index slice `a` (1-based in the original).
fn aheapsort(v: &[f64], a: &mut [usize]) {
    let mut n = a.len();
    // a1(k) = a[k - 1]
    let sift = |a: &mut [usize], mut i: usize, n: usize, tmp: usize| {
        let mut j = i << 1;
        while j <= n {
            if j < n && v[a[j - 1]] < v[a[j]] {
                j += 1;
            }
            if v[tmp] < v[a[j - 1]] {
                a[i - 1] = a[j - 1];
                i = j;
                j += j;
            } else {
                break;
            }
        }
        a[i - 1] = tmp;
    };
    for l in (1..=n >> 1).rev() {
        let tmp = a[l - 1];
        sift(a, l, n, tmp);
    }
    while n > 1 {
        let tmp = a[n - 1];
        a[n - 1] = a[0];
        n -= 1;
        sift(a, 1, n, tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argsort(v: &[f64]) -> Vec<usize> {
        let mut o = Vec::new();
        argsort_into(v, &mut o);
        o
    }

    #[test]
    fn numpy_tie_orders() {
        // np.argsort(np.zeros(20)) and np.argsort(np.array([1., 0.] * 10)) with numpy 1.23.5
        assert_eq!(
            argsort(&[0.0; 20]),
            [0, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 18, 19]
        );
        let alt: Vec<f64> = (0..20)
            .map(|i| if i % 2 == 0 { 1.0 } else { 0.0 })
            .collect();
        assert_eq!(
            argsort(&alt),
            [9, 17, 15, 13, 11, 7, 19, 5, 3, 1, 8, 18, 10, 4, 12, 14, 2, 16, 6, 0]
        );
        // np.argsort(np.array([float((i * 37) % 11) * 0.5 for i in range(40)]))
        let v: Vec<f64> = (0..40).map(|i| ((i * 37) % 11) as f64 * 0.5).collect();
        assert_eq!(
            argsort(&v),
            [
                0, 33, 22, 11, 36, 3, 25, 14, 28, 17, 39, 6, 9, 20, 31, 12, 1, 23, 34, 37, 15, 4,
                26, 29, 7, 18, 21, 10, 32, 24, 35, 13, 2, 5, 27, 38, 16, 8, 30, 19
            ]
        );
        // up to 16 elements it is a stable insertion sort
        assert_eq!(argsort(&[2.0, 1.0, 2.0, 1.0]), [1, 3, 0, 2]);
        assert!(argsort(&[]).is_empty());
    }

    #[test]
    fn sorts_and_heapsort_sorts() {
        let v: Vec<f64> = (0..500).map(|i| ((i * 7919) % 113) as f64 * 0.5).collect();
        let o = argsort(&v);
        assert!(o.windows(2).all(|w| v[w[0]] <= v[w[1]]));
        let mut idx: Vec<usize> = (0..v.len()).collect();
        aheapsort(&v, &mut idx);
        assert!(idx.windows(2).all(|w| v[w[0]] <= v[w[1]]));
        let mut seen = idx.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..v.len()).collect::<Vec<_>>());
    }
}
