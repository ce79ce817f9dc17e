//! A lung outline as a star-shaped closed curve: control polygon → Chaikin smoothing → a polar
//! table `r(φ)` around an interior centre, so that "inside" and "depth below the boundary" are
//! one `atan2` and one table look-up per pixel.
//!
//! Coordinates are the lung's own frame: `lx` grows laterally (away from the midline), `y` grows
//! downwards. The polar angle is measured with `0` pointing lateral and `+π/2` pointing up (apex).

use std::f32::consts::{PI, TAU};

/// Number of angular bins of the polar table.
const BINS: usize = 720;

/// A star-shaped outline with its polar radius table.
#[derive(Debug, Clone)]
pub(crate) struct Outline {
    /// Polar centre in the lung frame `(lx, y)`.
    pub(crate) centre: (f32, f32),
    /// `radius[k]` is the boundary distance at angle `-π + k·2π/BINS`.
    radius: Vec<f32>,
    /// `radius` averaged over about ±16° (two circular box passes): a jitter-free scale for
    /// quantities that should vary smoothly along the boundary (pneumothorax rim thickness).
    smooth: Vec<f32>,
    /// Axis-aligned bounds `(lx_min, lx_max, y_min, y_max)` of the boundary.
    pub(crate) bounds: (f32, f32, f32, f32),
}

/// Polar angle of a lung-frame offset: 0 lateral, +π/2 up.
#[inline]
pub(crate) fn polar_angle(dlx: f32, dy: f32) -> f32 {
    (-dy).atan2(dlx)
}

impl Outline {
    /// Builds the outline from a closed control polygon (at least 3 points, around `centre`).
    /// `smoothing` rounds of Chaikin corner cutting are applied before the polar sampling.
    pub(crate) fn from_polygon(
        points: &[(f32, f32)],
        centre: (f32, f32),
        smoothing: usize,
    ) -> Self {
        let mut poly = points.to_vec();
        for _ in 0..smoothing {
            poly = chaikin(&poly);
        }
        let bounds = poly.iter().fold(
            (f32::MAX, f32::MIN, f32::MAX, f32::MIN),
            |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
        );
        // Cast one ray per bin and keep the farthest edge crossing (robust if not star-shaped).
        let radius = (0..BINS)
            .map(|k| {
                let phi = -PI + (k as f32) * TAU / BINS as f32;
                let dir = (phi.cos(), -phi.sin());
                let mut best = 0.0f32;
                for i in 0..poly.len() {
                    let a = poly[i];
                    let b = poly[(i + 1) % poly.len()];
                    if let Some(t) = ray_segment(centre, dir, a, b) {
                        best = best.max(t);
                    }
                }
                best
            })
            .collect::<Vec<f32>>();
        let smooth = circular_box(&circular_box(&radius, 16), 16);
        Self {
            centre,
            radius,
            smooth,
            bounds,
        }
    }

    /// Boundary radius at polar angle `phi` (linear interpolation between bins).
    #[inline]
    pub(crate) fn radius_at(&self, phi: f32) -> f32 {
        lookup(&self.radius, phi)
    }

    /// The smoothed boundary radius at `phi`.
    #[inline]
    pub(crate) fn smooth_radius_at(&self, phi: f32) -> f32 {
        lookup(&self.smooth, phi)
    }

    /// `(r, phi, boundary radius)` of a lung-frame point.
    #[inline]
    pub(crate) fn polar(&self, lx: f32, y: f32) -> (f32, f32, f32) {
        let (dx, dy) = (lx - self.centre.0, y - self.centre.1);
        let r = (dx * dx + dy * dy).sqrt();
        let phi = polar_angle(dx, dy);
        (r, phi, self.radius_at(phi))
    }
}

/// Linear interpolation in a polar table at angle `phi`.
#[inline]
fn lookup(table: &[f32], phi: f32) -> f32 {
    let f = ((phi + PI) * (BINS as f32 / TAU)).rem_euclid(BINS as f32);
    let i = f as usize % BINS;
    let t = f - f.floor();
    let (a, b) = (table[i], table[(i + 1) % BINS]);
    a + (b - a) * t
}

/// Circular moving average over `2k+1` bins.
fn circular_box(v: &[f32], k: usize) -> Vec<f32> {
    let n = v.len();
    (0..n)
        .map(|i| (0..=2 * k).map(|j| v[(i + n + j - k) % n]).sum::<f32>() / (2 * k + 1) as f32)
        .collect()
}

/// One round of Chaikin corner cutting on a closed polygon.
fn chaikin(poly: &[(f32, f32)]) -> Vec<(f32, f32)> {
    let n = poly.len();
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + 1) % n]);
        out.push((0.75 * a.0 + 0.25 * b.0, 0.75 * a.1 + 0.25 * b.1));
        out.push((0.25 * a.0 + 0.75 * b.0, 0.25 * a.1 + 0.75 * b.1));
    }
    out
}

/// Distance along the ray `o + t·d` (t ≥ 0) to segment `ab`, if they cross.
fn ray_segment(o: (f32, f32), d: (f32, f32), a: (f32, f32), b: (f32, f32)) -> Option<f32> {
    let e = (b.0 - a.0, b.1 - a.1);
    let den = d.0 * e.1 - d.1 * e.0;
    if den.abs() < 1e-12 {
        return None;
    }
    let w = (a.0 - o.0, a.1 - o.1);
    let t = (w.0 * e.1 - w.1 * e.0) / den;
    let s = (w.0 * d.1 - w.1 * d.0) / den;
    (t >= 0.0 && (0.0..=1.0).contains(&s)).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_outline_radii_match_geometry() {
        let sq = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)];
        let o = Outline::from_polygon(&sq, (0.0, 0.0), 0);
        assert!((o.radius_at(0.0) - 1.0).abs() < 1e-4);
        assert!((o.radius_at(PI / 2.0) - 1.0).abs() < 1e-4);
        assert!((o.radius_at(PI / 4.0) - 2f32.sqrt()).abs() < 1e-2);
        assert!((o.radius_at(-3.0 * PI / 4.0) - 2f32.sqrt()).abs() < 1e-2);
        assert_eq!(o.bounds, (-1.0, 1.0, -1.0, 1.0));
        let (r, phi, rb) = o.polar(0.5, -0.5);
        assert!((r - 0.5f32.hypot(0.5)).abs() < 1e-6);
        assert!((phi - PI / 4.0).abs() < 1e-6, "up-lateral is +45°: {phi}");
        assert!(rb > r);
    }

    #[test]
    fn smooth_radius_of_a_circle_is_the_radius() {
        let circle: Vec<(f32, f32)> = (0..64)
            .map(|k| k as f32 * TAU / 64.0)
            .map(|a| (0.3 * a.cos(), 0.3 * a.sin()))
            .collect();
        let o = Outline::from_polygon(&circle, (0.0, 0.0), 2);
        for phi in [-3.0f32, -1.0, 0.0, 0.5, 2.9] {
            assert!((o.smooth_radius_at(phi) - o.radius_at(phi)).abs() < 1e-3);
            assert!(
                (o.radius_at(phi) - 0.3).abs() < 3e-3,
                "{}",
                o.radius_at(phi)
            );
        }
    }

    #[test]
    fn smoothing_cuts_corners_only() {
        let sq = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)];
        let o = Outline::from_polygon(&sq, (0.0, 0.0), 4);
        assert!((o.radius_at(0.0) - 1.0).abs() < 1e-3, "edge midpoints stay");
        assert!(
            o.radius_at(PI / 4.0) < 1.3,
            "corner is rounded: {}",
            o.radius_at(PI / 4.0)
        );
        assert!(
            (o.radius_at(PI / 2.0) - 1.0).abs() < 1e-3,
            "top edge midpoint stays"
        );
    }
}
