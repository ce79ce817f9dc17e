//! The pneumothorax model: air between the chest wall (the lung outline) and the visceral
//! pleura of the partly collapsed lung, drawn as a dark texture-free region bounded by a thin
//! bright pleural line. Two shapes:
//! - `Rim`: a crescent along an angular window of the outline (apical, lateral, basal pockets),
//!   thickest mid-window and thinning to zero at the window ends (`1 − u²` lens profile);
//!   small and medium pneumothoraces.
//! - `Collapse`: the whole lung shrunk towards an anchor at the hilum; the air surrounds it,
//!   thickest at the apex and lateral wall; large pneumothoraces.

use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::outline::Outline;
use super::rng::uniform;

/// The geometry of one pneumothorax, in its lung's frame.
#[derive(Debug, Clone)]
pub(crate) enum PtxShape {
    /// A crescent over polar angles `phi_c ± half_span` (0 lateral, +π/2 apex), of thickness
    /// `ratio ×` the smoothed polar radius, modulated by `wobble = (amplitude, frequency, phase)`.
    Rim {
        phi_c: f32,
        half_span: f32,
        ratio: f32,
        wobble: (f32, f32, f32),
    },
    /// The lung scaled by `scale` towards `anchor`.
    Collapse { anchor: (f32, f32), scale: f32 },
}

/// One pneumothorax object.
#[derive(Debug, Clone)]
pub(crate) struct Ptx {
    /// Index of the lung (0: image left, the patient's right).
    pub(crate) lung: usize,
    pub(crate) shape: PtxShape,
    /// Extra darkness of the air region (density units).
    pub(crate) darkness: f32,
    /// Peak density of the visceral pleural line.
    pub(crate) line_density: f32,
    /// Pleural line half width, normalised (at 1024 px, 1/1024 is one pixel).
    pub(crate) line_half: f32,
}

impl Ptx {
    /// How collapsed the lung is, 0 (none) to 1: the rim ratio or `1 − scale`.
    pub(crate) fn severity(&self) -> f32 {
        match self.shape {
            PtxShape::Rim { ratio, .. } => ratio,
            PtxShape::Collapse { scale, .. } => 1.0 - scale,
        }
    }

    /// Signed distance (normalised, approximate) from the visceral pleura at lung-frame point
    /// `(lx, y)`: positive on the air side. `phi` is the point's polar angle and `depth` its
    /// distance below the outline (the chest wall); `min_thick` is the thinnest rim drawn. `None` where the object
    /// has no influence (outside a rim's window).
    #[inline]
    pub(crate) fn air_side(
        &self,
        o: &Outline,
        lx: f32,
        y: f32,
        phi: f32,
        depth: f32,
        min_thick: f32,
    ) -> Option<f32> {
        match self.shape {
            PtxShape::Rim {
                phi_c,
                half_span,
                ratio,
                wobble,
            } => {
                let mut d = (phi - phi_c).abs();
                if d > PI {
                    d = 2.0 * PI - d;
                }
                if d >= half_span {
                    return None;
                }
                // Lens profile: the visceral line meets the wall at a shallow angle.
                let u = d / half_span;
                let taper = 1.0 - u * u;
                let (amp, freq, ph) = wobble;
                let thick = (ratio * o.smooth_radius_at(phi)).max(min_thick)
                    * (1.0 + amp * (freq * phi + ph).sin());
                let lim = thick * taper;
                (lim > 0.0).then_some(lim - depth)
            }
            PtxShape::Collapse { anchor, scale } => {
                // Pull the point back into the uncollapsed lung and measure its depth there.
                let q = (
                    anchor.0 + (lx - anchor.0) / scale,
                    anchor.1 + (y - anchor.1) / scale,
                );
                let (r, _, rb) = o.polar(q.0, q.1);
                Some((r - rb) * scale)
            }
        }
    }
}

/// Size classes: small rims, medium rims, large collapses.
fn sample_ptx(
    rng: &mut ChaCha8Rng,
    lung: usize,
    hilum: (f32, f32),
    phi_range: (f32, f32),
    class: u32,
) -> Ptx {
    let shape = match class {
        0 | 1 => {
            let (span, ratio) = if class == 0 {
                ((12.0, 35.0), (0.035, 0.09))
            } else {
                ((30.0, 65.0), (0.08, 0.22))
            };
            PtxShape::Rim {
                phi_c: uniform(rng, phi_range.0, phi_range.1).to_radians(),
                half_span: uniform(rng, span.0, span.1).to_radians(),
                ratio: uniform(rng, ratio.0, ratio.1),
                // Integer frequency: continuous across the ±π seam.
                wobble: (
                    uniform(rng, 0.0, 0.2),
                    rng.random_range(2..=5) as f32,
                    uniform(rng, 0.0, 2.0 * PI),
                ),
            }
        }
        _ => PtxShape::Collapse {
            anchor: (
                hilum.0 - uniform(rng, 0.0, 0.03),
                hilum.1 + uniform(rng, -0.02, 0.08),
            ),
            scale: uniform(rng, 0.45, 0.85),
        },
    };
    let mut p = Ptx {
        lung,
        shape,
        darkness: 0.0,
        line_density: uniform(rng, 0.04, 0.12),
        line_half: uniform(rng, 0.6, 1.6) / 1024.0,
    };
    // Thicker air layers are darker.
    p.darkness = uniform(rng, 0.015, 0.06) + 0.12 * p.severity();
    p
}

/// The pneumothorax objects of a positive case: one, sometimes two (bilateral, or a basal pocket
/// under an apical rim in the same lung), sizes small (45%), medium (35%) or large (20%).
/// `hila` are the two lungs' hilum points, the anchors of collapses.
pub(crate) fn sample_ptx_set(rng: &mut ChaCha8Rng, hila: [(f32, f32); 2]) -> Vec<Ptx> {
    let size_class = |rng: &mut ChaCha8Rng| match rng.random::<f32>() {
        u if u < 0.45 => 0,
        u if u < 0.8 => 1,
        _ => 2,
    };
    let lung = usize::from(rng.random_bool(0.5));
    let class = size_class(rng);
    let mut set = vec![sample_ptx(rng, lung, hila[lung], (15.0, 105.0), class)];
    if rng.random_bool(0.15) {
        if class == 2 || rng.random_bool(0.5) {
            let class = size_class(rng);
            set.push(sample_ptx(
                rng,
                1 - lung,
                hila[1 - lung],
                (15.0, 105.0),
                class,
            ));
        } else {
            // A small basal-lateral pocket, its window kept 0.05 rad clear of the first rim's.
            let mut second = sample_ptx(rng, lung, hila[lung], (-55.0, -25.0), 0);
            if let (
                PtxShape::Rim {
                    phi_c: c1,
                    half_span: s1,
                    ..
                },
                PtxShape::Rim {
                    phi_c: c2,
                    half_span: s2,
                    ..
                },
            ) = (&mut set[0].shape, &mut second.shape)
            {
                let gap = (*c1 - *s1) - (*c2 + *s2);
                if gap < 0.05 {
                    *s1 = (*s1 + gap - 0.05).max(0.1);
                    *s2 = (*c1 - *s1 - 0.05 - *c2).max(0.08);
                }
            }
            set.push(second);
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::rng::case_rng;

    fn square() -> Outline {
        Outline::from_polygon(
            &[(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)],
            (0.0, 0.0),
            0,
        )
    }

    fn rim(ratio: f32) -> Ptx {
        Ptx {
            lung: 0,
            shape: PtxShape::Rim {
                phi_c: 0.0,
                half_span: 0.5,
                ratio,
                wobble: (0.0, 2.0, 0.0),
            },
            darkness: 0.05,
            line_density: 0.1,
            line_half: 0.001,
        }
    }

    #[test]
    fn rim_is_windowed_and_tapered() {
        let o = square();
        let p = rim(0.2);
        // Window centre (lateral, phi = 0): rim thickness 0.2 × radius 1.
        let at = |phi: f32, depth: f32| p.air_side(&o, 0.0, 0.0, phi, depth, 0.0);
        assert!((at(0.0, 0.05).expect("inside window") - 0.15).abs() < 0.01);
        assert!(
            at(0.0, 0.3).expect("inside window") < 0.0,
            "deeper than the rim is lung"
        );
        assert!(
            at(0.6, 0.01).is_none() && at(-0.6, 0.01).is_none(),
            "outside the window"
        );
        let near_end = at(0.45, 0.0).expect("inside window");
        assert!(
            near_end > 0.0 && near_end < 0.2 * 0.5,
            "tapered: {near_end}"
        );
        let thin = p.air_side(&o, 0.0, 0.0, 0.0, 0.0, 0.5).expect("window");
        assert!((thin - 0.5).abs() < 1e-6, "minimum thickness applies");
    }

    #[test]
    fn collapse_leaves_air_outside_the_scaled_lung() {
        let o = square();
        let p = Ptx {
            shape: PtxShape::Collapse {
                anchor: (-1.0, 0.0),
                scale: 0.5,
            },
            ..rim(0.0)
        };
        // The collapsed lung spans lx in [-1, 0]: a point at lx = 0.5 is air, at lx = -0.5 lung.
        let air = p
            .air_side(&o, 0.5, 0.0, 0.0, 0.5, 0.0)
            .expect("always some");
        let lung = p
            .air_side(&o, -0.5, 0.0, 0.0, 0.5, 0.0)
            .expect("always some");
        assert!((air - 0.5).abs() < 1e-3, "{air}");
        assert!(lung < 0.0, "{lung}");
        assert!((p.severity() - 0.5).abs() < 1e-6);
    }

    #[test]
    fn sets_have_one_or_two_objects_and_disjoint_windows_in_one_lung() {
        let mut counts = [0usize; 3];
        for seed in 0..600u64 {
            let set = sample_ptx_set(&mut case_rng(seed, 2), [(0.09, -0.06), (0.11, -0.06)]);
            counts[set.len()] += 1;
            if let [a, b] = set.as_slice() {
                if a.lung == b.lung {
                    let (
                        PtxShape::Rim {
                            phi_c: c1,
                            half_span: s1,
                            ..
                        },
                        PtxShape::Rim {
                            phi_c: c2,
                            half_span: s2,
                            ..
                        },
                    ) = (&a.shape, &b.shape)
                    else {
                        panic!("seed {seed}: a collapse shares its lung");
                    };
                    assert!(c1 - s1 > c2 + s2, "seed {seed}: windows overlap");
                }
            }
            for p in &set {
                assert!(p.darkness > 0.0 && p.severity() > 0.0 && p.severity() < 0.6);
            }
        }
        assert_eq!(counts[0], 0);
        assert!(
            counts[2] > 40 && counts[2] < 140,
            "two-object sets: {}",
            counts[2]
        );
    }
}
