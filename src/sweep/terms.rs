//! Per-image terms: everything a sweep needs from one prediction map and its ground truth, so
//! that each configuration then costs O(1).
//!
//! One pass over the pixels builds two 256-bin histograms of the quantised probability `q`: over
//! all pixels and over ground-truth pixels. Their suffix sums give, for any threshold cutoff
//! `c`, `|q >= c|` and `|(q >= c) ∩ G|`; so for a configuration `(top, area, bottom)`:
//!
//! - the gate: `count(q >= cut(top)) >= area`;
//! - a positive image's `|P| = |q >= cut(bottom)|` and `|P ∩ G| = |(q >= cut(bottom)) ∩ G|`;
//! - a negative image's `|P| = |P ∩ G| = 0`;
//! - Dice from [`DiceCounts::dice`] (the metric's formula and `eps`, both empty = 1).
//!
//! When the plan sweeps min contour areas `A > 0`, the mask `q >= cut(bottom)` is traced once per
//! (image, bottom) with [`PostProcessor`] (OpenCV's `findContours`), and for each `A` the
//! `remove_smallest` result is drawn and counted (`|P|`, `|P ∩ G|`); min areas that keep the same
//! contours share one drawing. Bottoms whose mask is empty, or images no gate can pass, skip the
//! tracing (their terms cannot be used).

use super::grid::Plan;
use super::SweepError;
use crate::metric::{DiceCounts, MetricError, PostProcessor};

/// The terms of one image under one plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageTerms {
    /// Ground-truth pixels `|G|`.
    pub truth: u64,
    /// `|q >= top_cut[t]|` per top.
    pub gate: Vec<u64>,
    /// `(|P|, |P ∩ G|)` of a positive image, per (bottom, min area), index
    /// `b · |min areas| + m`: the plain threshold for `A = 0`, the `remove_smallest` result
    /// otherwise.
    pub positive: Vec<(u64, u64)>,
}

/// Reusable buffers for [`ImageTerms::compute`] (histograms, masks, contour tracing).
#[derive(Debug, Default, Clone)]
pub struct TermScratch {
    hist: Vec<u32>,
    mask: Vec<u8>,
    drawn: Vec<u8>,
    post: PostProcessor,
    kept: Vec<(usize, usize)>,
}

impl TermScratch {
    /// Empty buffers.
    pub fn new() -> TermScratch {
        TermScratch::default()
    }
}

/// `at_least[c]` = pixels with `q >= c` (index 0..=256) over all pixels and over ground-truth
/// pixels, from one pass. Four interleaved tables keep consecutive increments independent.
fn histograms(q: &[u8], truth: &[u8], hist: &mut Vec<u32>) -> ([u64; 257], [u64; 257]) {
    hist.clear();
    hist.resize(4 * 512, 0);
    let (h0, rest) = hist.split_at_mut(512);
    let (h1, rest) = rest.split_at_mut(512);
    let (h2, h3) = rest.split_at_mut(512);
    let bin = |q: u8, g: u8| usize::from(q) | usize::from(g != 0) << 8;
    let (qc, gc) = (q.chunks_exact(4), truth.chunks_exact(4));
    let (qr, gr) = (qc.remainder(), gc.remainder());
    for (q4, g4) in qc.zip(gc) {
        h0[bin(q4[0], g4[0])] += 1;
        h1[bin(q4[1], g4[1])] += 1;
        h2[bin(q4[2], g4[2])] += 1;
        h3[bin(q4[3], g4[3])] += 1;
    }
    for (&q, &g) in qr.iter().zip(gr) {
        h0[bin(q, g)] += 1;
    }
    let mut all = [0u64; 257];
    let mut gt = [0u64; 257];
    for c in (0..256).rev() {
        let sum =
            |k: usize| u64::from(h0[k]) + u64::from(h1[k]) + u64::from(h2[k]) + u64::from(h3[k]);
        let (off, on) = (sum(c), sum(256 + c));
        all[c] = all[c + 1] + off + on;
        gt[c] = gt[c + 1] + on;
    }
    (all, gt)
}

impl ImageTerms {
    /// The terms of the map `q` (row-major, `plan.size`², probability `q / 255`) with ground
    /// truth `truth` (same size, nonzero = foreground).
    pub fn compute(
        plan: &Plan,
        q: &[u8],
        truth: &[u8],
        scratch: &mut TermScratch,
    ) -> Result<ImageTerms, SweepError> {
        let side = plan.size as usize;
        let n = side * side;
        if q.len() != n || truth.len() != n {
            return Err(SweepError::Metric(if q.len() != truth.len() {
                MetricError::LengthMismatch {
                    pred: q.len(),
                    truth: truth.len(),
                }
            } else {
                MetricError::MaskSize {
                    width: side,
                    height: side,
                    got: q.len(),
                }
            }));
        }
        let (all, gt) = histograms(q, truth, &mut scratch.hist);
        let gate: Vec<u64> = plan.top_cut.iter().map(|&c| all[c as usize]).collect();
        let n_min = plan.min_area_px.len();
        let mut positive = Vec::with_capacity(plan.bottom_cut.len() * n_min);
        for &c in &plan.bottom_cut {
            let plain = (all[c as usize], gt[c as usize]);
            positive.extend(std::iter::repeat_n(plain, n_min));
        }
        let terms = ImageTerms {
            truth: gt[0],
            gate,
            positive,
        };
        let can_pass = match (terms.gate.iter().max(), plan.area_px.iter().min()) {
            (Some(&g), Some(&a)) => g >= a,
            _ => false,
        };
        if plan.filters_contours() && can_pass {
            let mut terms = terms;
            contour_terms(plan, q, truth, scratch, &mut terms)?;
            return Ok(terms);
        }
        Ok(terms)
    }

    /// Dice counts of configuration `(t, a, b, m)` (list positions of the plan).
    pub fn counts(&self, plan: &Plan, t: usize, a: usize, b: usize, m: usize) -> DiceCounts {
        let (pred, intersection) = if self.gate[t] >= plan.area_px[a] {
            self.positive[b * plan.min_area_px.len() + m]
        } else {
            (0, 0)
        };
        DiceCounts {
            intersection,
            pred,
            truth: self.truth,
        }
    }

    /// Adds this image's Dice, as [`super::to_fixed`] values, to `sums` (one per configuration
    /// of the plan, in grid order).
    ///
    /// # Panics
    /// If `sums.len() != plan.len()`.
    pub fn add_to(&self, plan: &Plan, sums: &mut [u128]) {
        assert_eq!(sums.len(), plan.len(), "one sum per configuration");
        let eps = plan.eps;
        let empty = super::to_fixed(
            DiceCounts {
                intersection: 0,
                pred: 0,
                truth: self.truth,
            }
            .dice(eps),
        );
        let full: Vec<u128> = self
            .positive
            .iter()
            .map(|&(pred, intersection)| {
                super::to_fixed(
                    DiceCounts {
                        intersection,
                        pred,
                        truth: self.truth,
                    }
                    .dice(eps),
                )
            })
            .collect();
        let row = full.len();
        let mut chunks = sums.chunks_exact_mut(row);
        for &g in &self.gate {
            for &area in &plan.area_px {
                let chunk = chunks.next().expect("plan.len() sums");
                if g >= area {
                    for (s, &d) in chunk.iter_mut().zip(&full) {
                        *s += d;
                    }
                } else {
                    for s in chunk.iter_mut() {
                        *s += empty;
                    }
                }
            }
        }
    }
}

/// Fills the `A > 0` entries of `terms.positive`: per bottom with a non-empty mask, trace once,
/// then draw and count `remove_smallest` for each distinct set of kept contours.
fn contour_terms(
    plan: &Plan,
    q: &[u8],
    truth: &[u8],
    scratch: &mut TermScratch,
    terms: &mut ImageTerms,
) -> Result<(), SweepError> {
    let side = plan.size as usize;
    let n_min = plan.min_area_px.len();
    scratch.mask.resize(q.len(), 0);
    scratch.drawn.resize(q.len(), 0);
    for (b, &cut) in plan.bottom_cut.iter().enumerate() {
        let row = b * n_min;
        if terms.positive[row].0 == 0 {
            continue; // empty mask: nothing to filter, (0, 0) for every A
        }
        for (m, &v) in scratch.mask.iter_mut().zip(q) {
            *m = if u16::from(v) >= cut { 255 } else { 0 };
        }
        scratch.post.trace(&scratch.mask, side, side)?;
        // (kept contours, m) for every A > 0: equal counts keep the same contours.
        scratch.kept.clear();
        for (m, &area) in plan.min_area_px.iter().enumerate() {
            if area > 0.0 {
                let kept = scratch.post.areas().iter().filter(|&&x| x > area).count();
                scratch.kept.push((kept, m));
            }
        }
        scratch.kept.sort_unstable();
        let mut last: Option<(usize, (u64, u64))> = None;
        for k in 0..scratch.kept.len() {
            let (kept, m) = scratch.kept[k];
            let value = match last {
                Some((prev, v)) if prev == kept => v,
                _ if kept == 0 => (0, 0),
                _ => {
                    let area = plan.min_area_px[m];
                    scratch
                        .post
                        .draw_area_above_into(area, &mut scratch.drawn)?;
                    count_drawn(&scratch.drawn, truth)
                }
            };
            terms.positive[row + m] = value;
            last = Some((kept, value));
        }
    }
    Ok(())
}

/// `(|P|, |P ∩ G|)` of a drawn 0/255 mask.
fn count_drawn(drawn: &[u8], truth: &[u8]) -> (u64, u64) {
    let (mut pred, mut inter) = (0u64, 0u64);
    for (&p, &g) in drawn.iter().zip(truth) {
        let p = u64::from(p != 0);
        pred += p;
        inter += p & u64::from(g != 0);
    }
    (pred, inter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_count_every_pixel_once() {
        let q: Vec<u8> = (0..37u32).map(|i| (i * 53 % 256) as u8).collect();
        let g: Vec<u8> = (0..37u32)
            .map(|i| if i % 3 == 0 { 255 } else { 0 })
            .collect();
        let (all, gt) = histograms(&q, &g, &mut Vec::new());
        for c in 0..=256usize {
            let want_all = q.iter().filter(|&&v| usize::from(v) >= c).count() as u64;
            let want_gt = q
                .iter()
                .zip(&g)
                .filter(|&(&v, &t)| usize::from(v) >= c && t != 0)
                .count() as u64;
            assert_eq!((all[c], gt[c]), (want_all, want_gt), "c = {c}");
        }
    }

    #[test]
    fn wrong_sizes_are_errors() {
        let grid =
            super::super::Grid::from_toml_str("top=[0.5]\narea=[1]\nbottom=[0.5]", "g").unwrap();
        let plan = grid.plan(4);
        let mut s = TermScratch::new();
        assert!(ImageTerms::compute(&plan, &[0; 16], &[0; 15], &mut s).is_err());
        assert!(ImageTerms::compute(&plan, &[0; 15], &[0; 15], &mut s).is_err());
        assert!(ImageTerms::compute(&plan, &[0; 16], &[0; 16], &mut s).is_ok());
    }
}
