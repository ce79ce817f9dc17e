//! Intensity-threshold baselines on synthetic cases: the best single global threshold (one value
//! and polarity for every image) and the per-image oracle threshold, scored by per-image Dice
//! over the positive cases. They show that segmenting the data needs more than intensity.

use super::case::SynthCase;

/// Scores of the threshold baselines over the positive cases of a set.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdBaseline {
    /// Positive cases scored.
    pub positives: usize,
    /// The best global threshold `t`: predict `pixel <= t` if `dark`, else `pixel >= t`.
    pub threshold: u8,
    /// Polarity of the best global threshold.
    pub dark: bool,
    /// Mean per-image Dice of the best global threshold.
    pub global_dice: f64,
    /// Mean per-image Dice when every image gets its own best threshold and polarity (an oracle).
    pub oracle_dice: f64,
}

/// Per-image cumulative histograms: `(all[t], pos[t])` count pixels `<= t` overall and in the mask.
fn cumulative(case: &SynthCase) -> ([u64; 256], [u64; 256]) {
    let mut all = [0u64; 256];
    let mut pos = [0u64; 256];
    let mask = case.mask();
    for (&v, &m) in case.image.iter().zip(&mask) {
        all[v as usize] += 1;
        pos[v as usize] += u64::from(m);
    }
    for t in 1..256 {
        all[t] += all[t - 1];
        pos[t] += pos[t - 1];
    }
    (all, pos)
}

/// Dice of predicting `pixel <= t` (dark) or `pixel >= t` (bright) from cumulative histograms.
fn dice(all: &[u64; 256], pos: &[u64; 256], t: usize, dark: bool) -> f64 {
    let (n, g) = (all[255], pos[255]);
    let (pred, tp) = if dark {
        (all[t], pos[t])
    } else if t == 0 {
        (n, g)
    } else {
        (n - all[t - 1], g - pos[t - 1])
    };
    if pred + g == 0 {
        1.0
    } else {
        2.0 * tp as f64 / (pred + g) as f64
    }
}

/// Scores both baselines over the positive cases in `cases` (negatives are skipped: an empty
/// prediction scores them perfectly and says nothing about segmentation).
pub fn global_threshold_baseline(cases: &[SynthCase]) -> ThresholdBaseline {
    let hists: Vec<_> = cases
        .iter()
        .filter(|c| c.is_positive())
        .map(cumulative)
        .collect();
    let k = hists.len().max(1) as f64;
    let mut best = (0u8, true, f64::MIN);
    for dark in [true, false] {
        for t in 0..256 {
            let mean = hists.iter().map(|(a, p)| dice(a, p, t, dark)).sum::<f64>() / k;
            if mean > best.2 {
                best = (t as u8, dark, mean);
            }
        }
    }
    let oracle = hists
        .iter()
        .map(|(a, p)| {
            (0..256)
                .flat_map(|t| [dice(a, p, t, true), dice(a, p, t, false)])
                .fold(0.0, f64::max)
        })
        .sum::<f64>()
        / k;
    ThresholdBaseline {
        positives: hists.len(),
        threshold: best.0,
        dark: best.1,
        global_dice: if hists.is_empty() { 0.0 } else { best.2 },
        oracle_dice: oracle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{generate_case, CaseIds, Split};

    fn toy(image: Vec<u8>, mask: Vec<u8>) -> SynthCase {
        SynthCase {
            ids: CaseIds::new(0, Split::Train, 0),
            split: Split::Train,
            index: 0,
            height: 1,
            width: image.len(),
            image,
            objects: vec![mask],
        }
    }

    #[test]
    fn baseline_finds_a_separating_threshold_on_toy_data() {
        // Dark object on a bright background: threshold 20, dark polarity, Dice 1.
        let c = toy(vec![10, 20, 200, 210, 220], vec![1, 1, 0, 0, 0]);
        let b = global_threshold_baseline(&[c]);
        assert_eq!((b.threshold, b.dark), (20, true));
        assert!((b.global_dice - 1.0).abs() < 1e-12 && (b.oracle_dice - 1.0).abs() < 1e-12);
        // Bright object: found with the other polarity.
        let c = toy(vec![10, 20, 200, 210, 220], vec![0, 0, 0, 1, 1]);
        let b = global_threshold_baseline(&[c]);
        assert!(!b.dark && b.threshold > 200 && b.threshold <= 210);
        assert!((b.global_dice - 1.0).abs() < 1e-12);
    }

    #[test]
    fn global_threshold_does_not_solve_the_synthetic_data() {
        // 40 positive cases at 128²: indices drawn positive.
        let cases: Vec<SynthCase> = (0..400)
            .filter(|&i| crate::synth::is_positive_index(77, Split::Train, i))
            .take(40)
            .map(|i| generate_case(77, Split::Train, i, 128))
            .collect();
        let b = global_threshold_baseline(&cases);
        assert_eq!(b.positives, 40);
        eprintln!("threshold baseline: {b:?}");
        assert!(
            b.global_dice < 0.3,
            "a global threshold segments the data: {b:?}"
        );
        assert!(
            b.oracle_dice < 0.5,
            "a per-image threshold segments the data: {b:?}"
        );
        // And the masks are real targets: not tiny, not the whole lung field.
        let fracs: Vec<f64> = cases
            .iter()
            .map(|c| c.mask().iter().map(|&v| f64::from(v)).sum::<f64>() / (128.0 * 128.0))
            .collect();
        assert!(fracs.iter().all(|&f| f > 0.0 && f < 0.2), "{fracs:?}");
    }
}
