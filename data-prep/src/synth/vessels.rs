//! Pulmonary vessel trees (recursive branching from the hilum, clipped to the lung outline) and
//! the anti-aliased tapered-segment rasteriser they and the wires are drawn with.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::params::Lung;
use super::rng::uniform;

/// A tapered segment in lung-frame coordinates: endpoints and radii (normalised units).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub(crate) a: (f32, f32),
    pub(crate) b: (f32, f32),
    pub(crate) ra: f32,
    pub(crate) rb: f32,
}

/// Radius below which a branch stops splitting.
const MIN_RADIUS: f32 = 0.0007;

/// Grows the vessel tree of `lung` in its own frame.
pub(crate) fn vessel_tree(rng: &mut ChaCha8Rng, lung: &Lung) -> Vec<Segment> {
    let mut segs = Vec::with_capacity(1500);
    let roots = rng.random_range(8..=11);
    for k in 0..roots {
        // Fan from steeply up (-105°) through lateral (0°) to down (+100°); y grows downwards.
        let t = (k as f32 + uniform(rng, 0.2, 0.8)) / roots as f32;
        let angle = (-105.0 + 205.0 * t).to_radians();
        let len = uniform(rng, 0.04, 0.065);
        let radius = uniform(rng, 0.004, 0.006);
        // Roots leave an elongated hilum, not one point.
        let off = uniform(rng, 0.005, 0.03);
        let start = (
            lung.hilum.0 + off * angle.cos(),
            lung.hilum.1 + off * angle.sin() + uniform(rng, -0.03, 0.03),
        );
        grow(rng, lung, &mut segs, start, angle, len, radius, 0);
    }
    segs
}

#[allow(clippy::too_many_arguments)]
fn grow(
    rng: &mut ChaCha8Rng,
    lung: &Lung,
    segs: &mut Vec<Segment>,
    start: (f32, f32),
    angle: f32,
    len: f32,
    radius: f32,
    depth: u32,
) {
    // Two slightly bent sub-segments per branch.
    let mut p = start;
    let mut a = angle;
    let mut r = radius;
    for _ in 0..2 {
        a += uniform(rng, -0.15, 0.15);
        let q = (p.0 + 0.5 * len * a.cos(), p.1 + 0.5 * len * a.sin());
        let (rr, _, rb) = lung.outline.polar(q.0, q.1);
        let r_end = r * 0.9;
        if rb - rr < 0.004 {
            // Leaving the lung: stop at the last inside point.
            return;
        }
        segs.push(Segment {
            a: p,
            b: q,
            ra: r,
            rb: r_end,
        });
        p = q;
        r = r_end;
    }
    if r < MIN_RADIUS || depth >= 8 {
        return;
    }
    let children = if rng.random_bool(0.15) { 3 } else { 2 };
    for c in 0..children {
        let sign = if c % 2 == 0 { 1.0 } else { -1.0 };
        let spread =
            uniform(rng, 0.2, 0.6) * sign + if c == 2 { uniform(rng, -0.1, 0.1) } else { 0.0 };
        let child_r = r * uniform(rng, 0.7, 0.88);
        let child_len = len * uniform(rng, 0.7, 0.9);
        grow(
            rng,
            lung,
            segs,
            p,
            a + spread,
            child_len,
            child_r,
            depth + 1,
        );
    }
}

/// An `f32` accumulation canvas addressed in pixels.
pub(crate) struct Canvas {
    pub(crate) w: usize,
    pub(crate) h: usize,
    pub(crate) buf: Vec<f32>,
}

impl Canvas {
    pub(crate) fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            buf: vec![0.0; w * h],
        }
    }

    /// Adds a tapered cylinder's projected density: amplitude `da → db` along the axis times the
    /// chord profile `sqrt(1 − d²/r²)`, `d` the pixel's distance to the axis. Radii below 0.7 px
    /// are widened to 0.7 px with the amplitude scaled by `r / 0.7` (integrated density kept).
    pub(crate) fn stamp(
        &mut self,
        a: (f32, f32),
        b: (f32, f32),
        ra: f32,
        rb: f32,
        da: f32,
        db: f32,
    ) {
        const MIN_R: f32 = 0.7;
        let rmax = ra.max(rb).max(MIN_R);
        let x0 = (a.0.min(b.0) - rmax - 1.0).floor().max(0.0) as usize;
        let y0 = (a.1.min(b.1) - rmax - 1.0).floor().max(0.0) as usize;
        let x1 = ((a.0.max(b.0) + rmax + 1.0).ceil() as isize).min(self.w as isize - 1);
        let y1 = ((a.1.max(b.1) + rmax + 1.0).ceil() as isize).min(self.h as isize - 1);
        if x1 < x0 as isize || y1 < y0 as isize {
            return;
        }
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = (dx * dx + dy * dy).max(1e-12);
        for y in y0..=y1 as usize {
            let py = y as f32;
            let row = &mut self.buf[y * self.w..(y + 1) * self.w];
            for (x, v) in row.iter_mut().enumerate().take(x1 as usize + 1).skip(x0) {
                let px = x as f32;
                let t = (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0);
                let (cx, cy) = (a.0 + t * dx - px, a.1 + t * dy - py);
                let d2 = cx * cx + cy * cy;
                let r = ra + (rb - ra) * t;
                let re = r.max(MIN_R);
                if d2 < re * re {
                    let amp = (da + (db - da) * t) * (r / re);
                    *v += amp * (1.0 - d2 / (re * re)).sqrt();
                }
            }
        }
    }

    /// A quadratic Bézier from `p[0]` through control `p[1]` to `p[2]` (pixel coordinates).
    pub(crate) fn stamp_bezier(&mut self, p: [(f32, f32); 3], radius: f32, density: f32) {
        let steps = 24;
        let at = |t: f32| {
            let u = 1.0 - t;
            (
                u * u * p[0].0 + 2.0 * u * t * p[1].0 + t * t * p[2].0,
                u * u * p[0].1 + 2.0 * u * t * p[1].1 + t * t * p[2].1,
            )
        };
        for i in 0..steps {
            let (a, b) = (
                at(i as f32 / steps as f32),
                at((i + 1) as f32 / steps as f32),
            );
            self.stamp(a, b, radius, radius, density, density);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::f32::consts::PI;

    use super::*;

    /// The angle in `[-π, π)` equivalent to `a`.
    fn wrap(a: f32) -> f32 {
        (a + PI).rem_euclid(2.0 * PI) - PI
    }
    use crate::synth::params::sample_case;

    #[test]
    fn stamp_draws_a_centred_line_and_clips() {
        let mut c = Canvas::new(20, 10);
        c.stamp((2.0, 5.0), (17.0, 5.0), 2.0, 2.0, 1.0, 1.0);
        assert!(
            (c.buf[5 * 20 + 10] - 1.0).abs() < 1e-6,
            "axis has full density"
        );
        let mut thin = Canvas::new(20, 10);
        thin.stamp((2.0, 5.0), (17.0, 5.0), 0.35, 0.35, 1.0, 1.0);
        assert!(
            (thin.buf[5 * 20 + 10] - 0.5).abs() < 1e-6,
            "sub-pixel radius scales the amplitude"
        );
        assert!(c.buf[4 * 20 + 10] > 0.0 && c.buf[4 * 20 + 10] < 1.0);
        assert_eq!(c.buf[20 + 10], 0.0, "outside the radius");
        // Off-canvas segments must not panic or wrap.
        c.stamp((-30.0, -30.0), (-10.0, -12.0), 2.0, 1.0, 1.0, 1.0);
        c.stamp((25.0, 3.0), (40.0, 30.0), 2.0, 1.0, 1.0, 1.0);
        c.stamp((15.0, 8.0), (40.0, 30.0), 3.0, 3.0, 1.0, 1.0);
        assert!(c.buf[9 * 20 + 16] > 0.0);
    }

    #[test]
    fn vessel_trees_stay_inside_the_lung_and_branch() {
        for seed in 0..5 {
            let params = sample_case(seed, false);
            for lung in &params.lungs {
                let mut rng = crate::synth::rng::case_rng(seed, 9);
                let segs = vessel_tree(&mut rng, lung);
                assert!(
                    segs.len() > 150,
                    "seed {seed}: only {} segments",
                    segs.len()
                );
                for s in &segs {
                    let (r, _, rb) = lung.outline.polar(s.b.0, s.b.1);
                    assert!(r < rb, "segment end outside the lung");
                    assert!(s.rb <= s.ra);
                }
                // Branches fan out over more than a quarter turn around the hilum.
                let angles: Vec<f32> = segs
                    .iter()
                    .map(|s| wrap((s.b.1 - lung.hilum.1).atan2(s.b.0 - lung.hilum.0)))
                    .collect();
                let spread = angles.iter().cloned().fold(f32::MIN, f32::max)
                    - angles.iter().cloned().fold(f32::MAX, f32::min);
                assert!(spread > PI / 2.0, "spread {spread}");
            }
        }
    }
}
