//! The solution's mask binarizers: the triplet / doublet gate and the "leak" rule.
//!
//! - **Triplet** `(top, area, bottom)`: the image is positive iff `count(p > top) >= area`
//!   (counted over the whole map); a positive image's mask is `p > bottom`, a negative one is
//!   all zeros. **Doublet** `(top, area)` is the triplet with `bottom = top`.
//! - **Leak**: for an image known to hold several objects (`n_objects > 1`), the mask is
//!   `p > leak_threshold` with no gate ([`Rule::for_objects`] picks the rule as TripletSubmit.py
//!   does).
//!
//! Comparisons are strict (`>`), as in the solution's numpy code. Two map types:
//! - **f32** probabilities: `p > t` in f32, `t` rounded to f32 first, which is what numpy does for
//!   `float32_array > python_float`.
//! - **u8** quantised probabilities `q` (probability `q / 255`): pixel on iff `q as f64 / 255.0 > t`
//!   in IEEE f64, i.e. numpy's `uint8_array / 255 > t`. This is computed once per threshold as an
//!   integer cutoff ([`u8_cutoff`]: the smallest `q` that passes), so a pixel is on iff
//!   `q >= cutoff`. It agrees with exact arithmetic except for thresholds within an ulp of a
//!   multiple of 1/255, where it follows the float result: `t = 0.6` keeps `q >= 154`, since
//!   `153 / 255.0` is the same double as `0.6`.
//!
//! Output masks are 0/255 (`255` = foreground), the value drawing and resizing use downstream.

use super::{MetricError, FG};

/// The triplet rule `(top, area, bottom)`; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Triplet {
    /// Gate threshold: pixels with `p > top` are counted.
    pub top: f64,
    /// Minimum number of pixels above `top` for a positive image.
    pub area: u64,
    /// Mask threshold of a positive image: `p > bottom`.
    pub bottom: f64,
}

impl Triplet {
    /// The triplet `(top, area, bottom)`.
    pub fn new(top: f64, area: u64, bottom: f64) -> Self {
        Self { top, area, bottom }
    }

    /// The doublet `(top, area)`: the triplet with `bottom = top`.
    pub fn doublet(top: f64, area: u64) -> Self {
        Self::new(top, area, top)
    }
}

/// Which binarizer an image gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Gated: see [`Triplet`].
    Triplet(Triplet),
    /// Ungated `p > threshold` (images with several objects).
    Leak {
        /// The leak threshold.
        threshold: f64,
    },
}

impl Rule {
    /// TripletSubmit.py's choice: `n_objects > 1` takes the leak rule, otherwise the triplet.
    pub fn for_objects(n_objects: usize, triplet: Triplet, leak_threshold: f64) -> Self {
        if n_objects > 1 {
            Rule::Leak {
                threshold: leak_threshold,
            }
        } else {
            Rule::Triplet(triplet)
        }
    }
}

/// The smallest `q` in `0..=255` with `q as f64 / 255.0 > t` (256 when none passes, e.g. for
/// `t >= 1` or NaN).
pub fn u8_cutoff(t: f64) -> u16 {
    // q / 255.0 is monotonic in q: binary search for the first passing value
    let (mut lo, mut hi) = (0u16, 256u16);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if f64::from(mid) / 255.0 > t {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Number of pixels with `p > t` (f32 comparison, see the module doc).
pub fn count_above_f32(map: &[f32], t: f64) -> u64 {
    let t = t as f32;
    map.iter().map(|&p| u64::from(p > t)).sum()
}

/// Number of pixels with `q / 255 > t` (see the module doc).
pub fn count_above_u8(map: &[u8], t: f64) -> u64 {
    let c = u8_cutoff(t);
    map.iter().map(|&q| u64::from(u16::from(q) >= c)).sum()
}

/// Histogram of a u8 map: answers `count_above_u8` for any threshold in O(1) after one pass
/// (for sweeps over many gate thresholds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct U8Histogram {
    /// `at_least[c]` = number of pixels with `q >= c` (`at_least[256] = 0`).
    at_least: [u64; 257],
}

impl U8Histogram {
    /// Counts `map`.
    pub fn of(map: &[u8]) -> Self {
        let mut at_least = [0u64; 257];
        for &q in map {
            at_least[q as usize] += 1;
        }
        for c in (0..256).rev() {
            at_least[c] += at_least[c + 1];
        }
        Self { at_least }
    }

    /// Number of pixels with `q / 255 > t`.
    pub fn count_above(&self, t: f64) -> u64 {
        self.at_least[u8_cutoff(t) as usize]
    }
}

/// `out = 255 where p > t else 0` (f32 comparison).
pub fn threshold_f32_into(map: &[f32], t: f64, out: &mut [u8]) -> Result<(), MetricError> {
    check_len(map.len(), out.len())?;
    let t = t as f32;
    for (o, &p) in out.iter_mut().zip(map) {
        *o = if p > t { FG } else { 0 };
    }
    Ok(())
}

/// `out = 255 where q / 255 > t else 0`.
pub fn threshold_u8_into(map: &[u8], t: f64, out: &mut [u8]) -> Result<(), MetricError> {
    check_len(map.len(), out.len())?;
    let c = u8_cutoff(t);
    for (o, &q) in out.iter_mut().zip(map) {
        *o = if u16::from(q) >= c { FG } else { 0 };
    }
    Ok(())
}

/// Applies `rule` to an f32 map; returns whether the image is positive (always true for
/// [`Rule::Leak`]). A negative image's `out` is all zeros.
pub fn binarize_f32_into(map: &[f32], rule: &Rule, out: &mut [u8]) -> Result<bool, MetricError> {
    check_len(map.len(), out.len())?;
    match *rule {
        Rule::Leak { threshold } => threshold_f32_into(map, threshold, out).map(|()| true),
        Rule::Triplet(t) => {
            if count_above_f32(map, t.top) >= t.area {
                threshold_f32_into(map, t.bottom, out).map(|()| true)
            } else {
                out.fill(0);
                Ok(false)
            }
        }
    }
}

/// Applies `rule` to a u8 map (see the module doc); returns whether the image is positive.
pub fn binarize_u8_into(map: &[u8], rule: &Rule, out: &mut [u8]) -> Result<bool, MetricError> {
    check_len(map.len(), out.len())?;
    match *rule {
        Rule::Leak { threshold } => threshold_u8_into(map, threshold, out).map(|()| true),
        Rule::Triplet(t) => {
            if count_above_u8(map, t.top) >= t.area {
                threshold_u8_into(map, t.bottom, out).map(|()| true)
            } else {
                out.fill(0);
                Ok(false)
            }
        }
    }
}

fn check_len(map: usize, out: usize) -> Result<(), MetricError> {
    if map == out {
        Ok(())
    } else {
        Err(MetricError::OutputLength {
            expected: map,
            got: out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_f32(map: [[f32; 3]; 3], rule: Rule) -> ([[u8; 3]; 3], bool) {
        let flat: Vec<f32> = map.iter().flatten().copied().collect();
        let mut out = vec![9; 9];
        let positive = binarize_f32_into(&flat, &rule, &mut out).unwrap();
        let mut grid = [[0u8; 3]; 3];
        for (i, v) in out.iter().enumerate() {
            grid[i / 3][i % 3] = u8::from(*v == FG);
            assert!(*v == 0 || *v == FG);
        }
        (grid, positive)
    }

    #[test]
    fn seed_deck_triplet_example() {
        let map = [[0.4, 0.4, 0.8], [0.1, 0.1, 0.9], [0.1, 0.2, 0.1]];
        let (mask, positive) = run_f32(map, Rule::Triplet(Triplet::new(0.7, 2, 0.3)));
        assert!(positive); // two pixels above 0.7
        assert_eq!(mask, [[1, 1, 1], [0, 0, 1], [0, 0, 0]]);
    }

    #[test]
    fn seed_deck_doublet_examples() {
        // only two pixels above 0.5 < 3: negative, all zeros
        let map = [[0.4, 0.4, 0.8], [0.1, 0.1, 0.9], [0.1, 0.2, 0.1]];
        let (mask, positive) = run_f32(map, Rule::Triplet(Triplet::doublet(0.5, 3)));
        assert!(!positive);
        assert_eq!(mask, [[0; 3]; 3]);
        // three pixels above 0.5 (0.8, 0.6, 0.9): positive. The deck draws
        // [[1, 1, 1], [0, 0, 1], [0, 0, 0]], i.e. keeps the 0.5 pixel; with the solution's strict
        // `p > 0.5` it is 0 (a drawing inconsistency in the deck, not a rule).
        let map = [[0.8, 0.5, 0.6], [0.1, 0.1, 0.9], [0.1, 0.2, 0.1]];
        let (mask, positive) = run_f32(map, Rule::Triplet(Triplet::doublet(0.5, 3)));
        assert!(positive);
        assert_eq!(mask, [[1, 0, 1], [0, 0, 1], [0, 0, 0]]);
    }

    #[test]
    fn leak_rule_has_no_gate() {
        let map = [[0.4, 0.4, 0.8], [0.1, 0.1, 0.9], [0.1, 0.2, 0.1]];
        let gate = Triplet::doublet(0.5, 100);
        let (mask, positive) = run_f32(map, Rule::for_objects(2, gate, 0.3));
        assert!(positive);
        assert_eq!(mask, [[1, 1, 1], [0, 0, 1], [0, 0, 0]]);
        assert_eq!(Rule::for_objects(1, gate, 0.3), Rule::Triplet(gate));
        assert_eq!(Rule::for_objects(0, gate, 0.3), Rule::Triplet(gate));
        let (_, positive) = run_f32(map, Rule::for_objects(1, gate, 0.3));
        assert!(!positive);
    }

    #[test]
    fn f32_compares_in_f32_like_numpy() {
        // np.array([0.6], np.float32) > 0.6 is False: 0.6 is rounded to f32 first
        assert_eq!(count_above_f32(&[0.6], 0.6), 0);
        assert_eq!(count_above_f32(&[0.600_000_1], 0.6), 1);
        assert_eq!(count_above_f32(&[f32::NAN, 1.0], 0.5), 1);
    }

    #[test]
    fn u8_cutoffs_match_float_division() {
        for i in 0..=1000 {
            let t = f64::from(i) / 1000.0 - 0.0005;
            let c = u8_cutoff(t);
            for q in 0u16..=255 {
                assert_eq!(q >= c, f64::from(q) / 255.0 > t, "t = {t}, q = {q}");
            }
        }
        // exact multiples of 1/255 are not above themselves
        assert_eq!(u8_cutoff(0.6), 154);
        assert_eq!(u8_cutoff(153.0 / 255.0), 154);
        assert_eq!(u8_cutoff(0.5), 128);
        assert_eq!(u8_cutoff(-0.1), 0);
        assert_eq!(u8_cutoff(0.0), 1);
        assert_eq!(u8_cutoff(1.0), 256);
        assert_eq!(u8_cutoff(f64::NAN), 256);
    }

    #[test]
    fn u8_path_and_histogram() {
        // the triplet example quantised: round(p * 255)
        let map: Vec<u8> = [0.4, 0.4, 0.8, 0.1, 0.1, 0.9, 0.1, 0.2, 0.1]
            .iter()
            .map(|p: &f64| (p * 255.0).round() as u8)
            .collect();
        let mut out = vec![0; 9];
        let rule = Rule::Triplet(Triplet::new(0.7, 2, 0.3));
        assert!(binarize_u8_into(&map, &rule, &mut out).unwrap());
        let on: Vec<u8> = out.iter().map(|&v| u8::from(v == FG)).collect();
        assert_eq!(on, [1, 1, 1, 0, 0, 1, 0, 0, 0]);
        let h = U8Histogram::of(&map);
        for t in [-1.0, 0.0, 0.1, 0.3, 0.35, 0.7, 0.8, 0.9, 1.0] {
            assert_eq!(h.count_above(t), count_above_u8(&map, t), "t = {t}");
        }
        assert_eq!(h.count_above(-1.0), 9);
        let rule = Rule::Triplet(Triplet::doublet(0.7, 3));
        assert!(!binarize_u8_into(&map, &rule, &mut out).unwrap());
        assert!(out.iter().all(|&v| v == 0));
        assert!(binarize_u8_into(&map, &rule, &mut out[1..]).is_err());
    }
}
