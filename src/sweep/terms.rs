//! Per-image terms: everything a sweep needs from one prediction map and its ground truth, so
//! that each configuration then costs O(1).
//!
//! One pass over the pixels builds two histograms of the map's codes `q` (256 bins for u8 maps,
//! one per f16 value in `[0, 1]` for f16 maps; see [`crate::data::prob_map`]): over all pixels
//! and over ground-truth pixels. Their suffix sums give, for any threshold cutoff `c`,
//! `|q >= c|` and `|(q >= c) ∩ G|`; so for a configuration `(top, area, bottom)`:
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
use crate::data::prob_map::{MapEncoding, F16_ONE};
use crate::metric::{DiceCounts, MetricError, PostProcessor};

/// The terms of one image under one plan (ordered, so that differential dataflow can hold
/// them in a collection).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
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

/// Reusable buffers for [`ImageTerms::compute`] (masks and contour tracing).
#[derive(Debug, Default, Clone)]
pub struct TermScratch {
    mask: Vec<u8>,
    drawn: Vec<u8>,
    post: PostProcessor,
    kept: Vec<(usize, usize)>,
    /// f16 code counts over all pixels and over ground-truth pixels (`F16_ONE + 2` bins each).
    f16_all: Vec<u32>,
    f16_truth: Vec<u32>,
}

impl TermScratch {
    /// Empty buffers.
    pub fn new() -> TermScratch {
        TermScratch::default()
    }
}

/// Ground-truth bytes scanned per block: blocks without a foreground pixel are skipped.
const GT_BLOCK: usize = 64;

/// `at_least[c]` = pixels with `q >= c` (index 0..=256) over all pixels and over ground-truth
/// pixels, from one pass. The map's histogram reads 8 pixels per load into four interleaved
/// tables (consecutive increments stay independent); the ground truth is scanned a block at a
/// time and only its foreground blocks (a few percent of a chest X-ray, none for most images)
/// are counted pixel by pixel.
fn histograms(q: &[u8], truth: &[u8]) -> (Vec<u64>, Vec<u64>) {
    let mut t = [[0u32; 256]; 4];
    let words = q.chunks_exact(8);
    for &v in words.remainder() {
        t[0][usize::from(v)] += 1;
    }
    for w in words {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        let b = |k: u32| ((w >> (8 * k)) & 0xff) as usize;
        t[0][b(0)] += 1;
        t[1][b(1)] += 1;
        t[2][b(2)] += 1;
        t[3][b(3)] += 1;
        t[0][b(4)] += 1;
        t[1][b(5)] += 1;
        t[2][b(6)] += 1;
        t[3][b(7)] += 1;
    }
    let mut on = [0u32; 256];
    for (qb, gb) in q.chunks(GT_BLOCK).zip(truth.chunks(GT_BLOCK)) {
        if gb.iter().fold(0u8, |acc, &g| acc | g) == 0 {
            continue;
        }
        for (&v, &g) in qb.iter().zip(gb) {
            on[usize::from(v)] += u32::from(g != 0);
        }
    }
    let mut all = vec![0u64; 257];
    let mut gt = vec![0u64; 257];
    for c in (0..256).rev() {
        let count: u64 = t.iter().map(|h| u64::from(h[c])).sum();
        all[c] = all[c + 1] + count;
        gt[c] = gt[c + 1] + u64::from(on[c]);
    }
    (all, gt)
}

/// [`histograms`] of an f16 map (`bytes`: 2 per pixel, little endian): `at_least[c]` for codes
/// `0..=F16_ONE + 1`. A code above `F16_ONE` (a value outside `[0, 1]`, or NaN) is an error
/// naming the first such pixel. Such codes share the table's last bin, so the tables stay at
/// `F16_ONE + 2` bins (60 KiB each) whatever the map holds.
fn histograms_f16(
    bytes: &[u8],
    truth: &[u8],
    scratch: &mut TermScratch,
) -> Result<(Vec<u64>, Vec<u64>), SweepError> {
    let top = usize::from(F16_ONE);
    let (all_h, gt_h) = (&mut scratch.f16_all, &mut scratch.f16_truth);
    for h in [&mut *all_h, &mut *gt_h] {
        h.clear();
        h.resize(top + 2, 0);
    }
    let bin = |b: &[u8]| usize::from(u16::from_le_bytes([b[0], b[1]])).min(top + 1);
    for b in bytes.chunks_exact(2) {
        all_h[bin(b)] += 1;
    }
    if all_h[top + 1] != 0 {
        let pixel = bytes
            .chunks_exact(2)
            .position(|b| bin(b) > top)
            .expect("a counted code");
        let b = &bytes[2 * pixel..2 * pixel + 2];
        return Err(SweepError::OutOfRange {
            pixel,
            value: half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
        });
    }
    for (qb, gb) in bytes.chunks(2 * GT_BLOCK).zip(truth.chunks(GT_BLOCK)) {
        if gb.iter().fold(0u8, |acc, &g| acc | g) == 0 {
            continue;
        }
        for (b, &g) in qb.chunks_exact(2).zip(gb) {
            gt_h[bin(b)] += u32::from(g != 0);
        }
    }
    let mut all = vec![0u64; top + 2];
    let mut gt = vec![0u64; top + 2];
    for c in (0..=top).rev() {
        all[c] = all[c + 1] + u64::from(all_h[c]);
        gt[c] = gt[c + 1] + u64::from(gt_h[c]);
    }
    Ok((all, gt))
}

impl ImageTerms {
    /// The terms of the map `q` (row-major, `plan.size`², encoded as `plan.encoding`: for u8
    /// maps the probability is `q / 255`) with ground truth `truth` (same size, nonzero =
    /// foreground).
    pub fn compute(
        plan: &Plan,
        q: &[u8],
        truth: &[u8],
        scratch: &mut TermScratch,
    ) -> Result<ImageTerms, SweepError> {
        let side = plan.size as usize;
        let n = side * side;
        let pixels = q.len() / plan.encoding.pixel_bytes();
        if q.len() != n * plan.encoding.pixel_bytes() || truth.len() != n {
            return Err(SweepError::Metric(if pixels != truth.len() {
                MetricError::LengthMismatch {
                    pred: pixels,
                    truth: truth.len(),
                }
            } else {
                MetricError::MaskSize {
                    width: side,
                    height: side,
                    got: pixels,
                }
            }));
        }
        let (all, gt) = match plan.encoding {
            MapEncoding::U8 => histograms(q, truth),
            MapEncoding::F16 => histograms_f16(q, truth, scratch)?,
        };
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
    let pixels = truth.len();
    scratch.mask.resize(pixels, 0);
    scratch.drawn.resize(pixels, 0);
    for (b, &cut) in plan.bottom_cut.iter().enumerate() {
        let row = b * n_min;
        if terms.positive[row].0 == 0 {
            continue; // empty mask: nothing to filter, (0, 0) for every A
        }
        plan.encoding
            .threshold_codes_into(q, cut, &mut scratch.mask);
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
        // 1001 pixels (not a multiple of 8 or of the block), truth in two blocks only
        let q: Vec<u8> = (0..1001u32).map(|i| (i * 53 % 256) as u8).collect();
        let g: Vec<u8> = (0..1001u32)
            .map(|i| {
                let on = (100..200).contains(&i) && i % 3 == 0 || i == 1000;
                if on {
                    255
                } else {
                    0
                }
            })
            .collect();
        let (all, gt) = histograms(&q, &g);
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
