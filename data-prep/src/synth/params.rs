//! The random parameters of one synthetic chest radiograph: pose, body, lungs, bones, confounders,
//! exposure, and the pneumothorax objects. Sampling is a pure function of the case seed.
//!
//! Anatomy coordinates are image-normalised: origin at the image centre, `x` to the image right,
//! `y` downwards, the image spans `[-0.5, 0.5]²`. A lung's own frame mirrors `x` so that its
//! lateral direction is positive (`lx = side · x`). The patient's right lung is on the image left
//! (`side = -1`), as in a PA film.

use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::outline::Outline;
use super::ptx::{sample_ptx_set, Ptx};
use super::rng::{case_rng, normal, uniform};

/// Rigid-plus-scale placement of the anatomy in the image.
#[derive(Debug, Clone)]
pub(crate) struct Pose {
    pub(crate) rot: f32,
    pub(crate) scale: f32,
    pub(crate) shift: (f32, f32),
}

/// Body silhouette and soft-tissue density.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub(crate) neck_half: f32,
    pub(crate) neck_y: f32,
    pub(crate) shoulder_y: f32,
    pub(crate) torso_half: f32,
    pub(crate) waist: f32,
    pub(crate) tissue: f32,
    pub(crate) spine_half: f32,
    pub(crate) spine_density: f32,
    pub(crate) trachea_density: f32,
    /// Heart ellipse `(cx, cy, rx, ry)` and its extra density.
    pub(crate) heart: (f32, f32, f32, f32),
    pub(crate) heart_density: f32,
    /// Gastric air bubble under the left hemidiaphragm `(cx, cy, rx, ry)`, if visible.
    pub(crate) bubble: Option<(f32, f32, f32, f32)>,
}

/// One lung: side, outline, air density, vessel-tree origin and strength.
#[derive(Debug, Clone)]
pub(crate) struct Lung {
    pub(crate) side: f32,
    pub(crate) outline: Outline,
    pub(crate) air: f32,
    pub(crate) hilum: (f32, f32),
    pub(crate) vessel_density: f32,
    pub(crate) texture: f32,
}

/// Posterior and anterior rib families and the clavicles.
#[derive(Debug, Clone)]
pub(crate) struct Bones {
    pub(crate) count: usize,
    pub(crate) post_y0: f32,
    pub(crate) post_spacing: f32,
    pub(crate) post_growth: f32,
    pub(crate) post_slope: f32,
    pub(crate) post_curve: f32,
    pub(crate) post_width: f32,
    pub(crate) post_density: f32,
    pub(crate) ant_y0: f32,
    pub(crate) ant_spacing: f32,
    pub(crate) ant_slope: f32,
    pub(crate) ant_density: f32,
    pub(crate) rib_lx_max: f32,
    /// Clavicle: medial end `(lx, y)`, lateral end `(lx, y)`, bend, half thickness, density.
    pub(crate) clav_med: (f32, f32),
    pub(crate) clav_lat: (f32, f32),
    pub(crate) clav_bend: f32,
    pub(crate) clav_half: f32,
    pub(crate) clav_density: f32,
}

/// A smooth curved density step inside the chest (scapula border or skin fold): a PTX mimic.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub(crate) side: f32,
    /// The edge is `lx = x0 + a·(y - y0) + b·(y - y0)²` for `y` in `[y0, y1]`.
    pub(crate) x0: f32,
    pub(crate) y0: f32,
    pub(crate) y1: f32,
    pub(crate) a: f32,
    pub(crate) b: f32,
    /// Density added lateral to the edge (negative: darker).
    pub(crate) density: f32,
    pub(crate) soft: f32,
}

/// A thin bright curve (ECG lead, line) as a quadratic Bézier in anatomy coordinates.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    pub(crate) p: [(f32, f32); 3],
    pub(crate) radius: f32,
    pub(crate) density: f32,
}

/// Exposure and detector: the density → intensity mapping and the noise.
#[derive(Debug, Clone)]
pub(crate) struct Exposure {
    pub(crate) gain: f32,
    pub(crate) offset: f32,
    pub(crate) gamma: f32,
    pub(crate) noise_sd: f32,
    pub(crate) grain_sd: f32,
    pub(crate) heel: (f32, f32),
    pub(crate) mottle: f32,
}

/// Everything needed to render one case.
#[derive(Debug, Clone)]
pub(crate) struct CaseParams {
    pub(crate) pose: Pose,
    pub(crate) body: Body,
    pub(crate) lungs: [Lung; 2],
    pub(crate) bones: Bones,
    pub(crate) edges: Vec<Edge>,
    pub(crate) wires: Vec<Wire>,
    /// Marker `(x, y, size)` in image-normalised coordinates (not rotated with the anatomy).
    pub(crate) marker: Option<(f32, f32, f32)>,
    pub(crate) exposure: Exposure,
    pub(crate) ptx: Vec<Ptx>,
    /// Seed for the vessel trees and the pixel noise.
    pub(crate) texture_seed: u64,
}

/// Base control polygon of the patient's right lung (image left), lung frame, apex first.
const RIGHT_LUNG: [(f32, f32); 15] = [
    (0.16, -0.365),
    (0.24, -0.335),
    (0.305, -0.255),
    (0.35, -0.13),
    (0.372, 0.0),
    (0.383, 0.13),
    (0.39, 0.205),
    (0.335, 0.17),
    (0.25, 0.12),
    (0.15, 0.115),
    (0.075, 0.145),
    (0.06, 0.05),
    (0.055, -0.08),
    (0.06, -0.22),
    (0.09, -0.32),
];

/// Base control polygon of the patient's left lung (image right); the heart indents it.
const LEFT_LUNG: [(f32, f32); 15] = [
    (0.155, -0.355),
    (0.235, -0.325),
    (0.3, -0.245),
    (0.345, -0.12),
    (0.368, 0.01),
    (0.38, 0.15),
    (0.385, 0.23),
    (0.33, 0.19),
    (0.26, 0.15),
    (0.205, 0.13),
    (0.165, 0.09),
    (0.125, 0.0),
    (0.09, -0.08),
    (0.075, -0.2),
    (0.095, -0.31),
];

fn sample_lung(rng: &mut ChaCha8Rng, side: f32, heart_scale: f32, dia_shift: f32) -> Lung {
    let base: &[(f32, f32)] = if side < 0.0 { &RIGHT_LUNG } else { &LEFT_LUNG };
    let (sx, sy) = (uniform(rng, 0.9, 1.07), uniform(rng, 0.9, 1.08));
    let apex_drop = uniform(rng, -0.02, 0.03);
    let (mx, my) = (0.22, -0.08);
    let pts: Vec<(f32, f32)> = base
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            let mut lx = mx + (x - mx) * sx + 0.006 * normal(rng);
            let mut ly = my + (y - my) * sy + 0.006 * normal(rng);
            if y > 0.08 {
                ly += dia_shift;
            }
            if y < -0.3 {
                ly += apex_drop;
            }
            // Heart border points of the left lung move laterally with the heart size.
            if side > 0.0 && (9..=12).contains(&i) {
                lx += (heart_scale - 1.0) * (x - 0.06) * 0.9;
            }
            if side < 0.0 && (10..=11).contains(&i) {
                lx += (heart_scale - 1.0) * 0.03;
            }
            lx = lx.max(0.045);
            (lx, ly)
        })
        .collect();
    let n = pts.len() as f32;
    let cx = pts.iter().map(|p| p.0).sum::<f32>() / n + 0.01;
    let cy = pts.iter().map(|p| p.1).sum::<f32>() / n - 0.03;
    Lung {
        side,
        outline: Outline::from_polygon(&pts, (cx, cy), 4),
        air: uniform(rng, 0.42, 0.58),
        hilum: (
            if side < 0.0 { 0.085 } else { 0.115 } + uniform(rng, -0.01, 0.01),
            uniform(rng, -0.09, -0.03),
        ),
        vessel_density: uniform(rng, 0.07, 0.12),
        texture: uniform(rng, 0.008, 0.02),
    }
}

fn sample_edge(rng: &mut ChaCha8Rng, scapula: bool) -> Edge {
    let side = if rng.random_bool(0.5) { -1.0 } else { 1.0 };
    if scapula {
        Edge {
            side,
            x0: uniform(rng, 0.27, 0.33),
            y0: uniform(rng, -0.4, -0.33),
            y1: uniform(rng, -0.08, 0.05),
            a: uniform(rng, 0.05, 0.2),
            b: uniform(rng, -0.25, 0.1),
            density: uniform(rng, 0.03, 0.07),
            soft: uniform(rng, 0.004, 0.012),
        }
    } else {
        // Skin fold: a long curve across the lateral lung, darker on one side, sharp edge.
        let y0 = uniform(rng, -0.3, -0.1);
        Edge {
            side,
            x0: uniform(rng, 0.22, 0.33),
            y0,
            y1: y0 + uniform(rng, 0.15, 0.35),
            a: uniform(rng, -0.1, 0.35),
            b: uniform(rng, -0.6, 0.6),
            density: -uniform(rng, 0.02, 0.05),
            soft: uniform(rng, 0.001, 0.004),
        }
    }
}

fn sample_wire(rng: &mut ChaCha8Rng) -> Wire {
    let mut pt = |x: (f32, f32), y: (f32, f32)| (uniform(rng, x.0, x.1), uniform(rng, y.0, y.1));
    let p0 = pt((-0.45, 0.45), (-0.45, -0.2));
    let p1 = pt((-0.35, 0.35), (-0.25, 0.25));
    let p2 = pt((-0.45, 0.45), (0.0, 0.45));
    Wire {
        p: [p0, p1, p2],
        radius: uniform(rng, 0.0012, 0.0035),
        density: uniform(rng, 0.15, 0.4),
    }
}

/// Samples the parameters of one case. `positive` decides whether it has pneumothorax objects.
pub(crate) fn sample_case(case_seed: u64, positive: bool) -> CaseParams {
    let mut rng = case_rng(case_seed, 1);
    let pose = Pose {
        rot: uniform(&mut rng, -4.5, 4.5).to_radians(),
        scale: uniform(&mut rng, 0.86, 1.06),
        shift: (
            uniform(&mut rng, -0.035, 0.035),
            uniform(&mut rng, -0.03, 0.05),
        ),
    };
    let heart_scale = uniform(&mut rng, 0.8, 1.3);
    let body = Body {
        neck_half: uniform(&mut rng, 0.08, 0.12),
        neck_y: uniform(&mut rng, -0.55, -0.48),
        shoulder_y: uniform(&mut rng, -0.36, -0.3),
        torso_half: uniform(&mut rng, 0.43, 0.53),
        waist: uniform(&mut rng, 0.0, 0.12),
        tissue: uniform(&mut rng, 0.62, 0.78),
        spine_half: uniform(&mut rng, 0.03, 0.042),
        spine_density: uniform(&mut rng, 0.05, 0.12),
        trachea_density: uniform(&mut rng, 0.05, 0.12),
        heart: (
            uniform(&mut rng, 0.02, 0.05),
            uniform(&mut rng, 0.06, 0.1),
            0.15 * heart_scale,
            uniform(&mut rng, 0.1, 0.13),
        ),
        heart_density: uniform(&mut rng, 0.04, 0.1),
        bubble: rng.random_bool(0.5).then(|| {
            (
                uniform(&mut rng, 0.1, 0.22),
                uniform(&mut rng, 0.3, 0.36),
                uniform(&mut rng, 0.03, 0.06),
                0.025,
            )
        }),
    };
    let dia_r = uniform(&mut rng, -0.04, 0.03);
    let dia_l = dia_r + uniform(&mut rng, -0.01, 0.04);
    let lungs = [
        sample_lung(&mut rng, -1.0, heart_scale, dia_r),
        sample_lung(&mut rng, 1.0, heart_scale, dia_l),
    ];
    let post_spacing = uniform(&mut rng, 0.05, 0.06);
    let bones = Bones {
        count: 10,
        post_y0: uniform(&mut rng, -0.42, -0.38),
        post_spacing,
        post_growth: uniform(&mut rng, 0.02, 0.06),
        post_slope: uniform(&mut rng, 0.2, 0.4),
        post_curve: uniform(&mut rng, 1.6, 2.2),
        post_width: uniform(&mut rng, 0.45, 0.6),
        post_density: uniform(&mut rng, 0.05, 0.1),
        ant_y0: uniform(&mut rng, -0.33, -0.27),
        ant_spacing: post_spacing * uniform(&mut rng, 1.05, 1.25),
        ant_slope: uniform(&mut rng, 0.45, 0.7),
        ant_density: uniform(&mut rng, 0.015, 0.04),
        rib_lx_max: uniform(&mut rng, 0.4, 0.44),
        clav_med: (0.035, uniform(&mut rng, -0.34, -0.26)),
        clav_lat: (
            uniform(&mut rng, 0.3, 0.36),
            uniform(&mut rng, -0.42, -0.36),
        ),
        clav_bend: uniform(&mut rng, -0.03, 0.02),
        clav_half: uniform(&mut rng, 0.013, 0.019),
        clav_density: uniform(&mut rng, 0.1, 0.18),
    };
    let mut edges = Vec::new();
    if rng.random_bool(0.5) {
        edges.push(sample_edge(&mut rng, true));
    }
    if rng.random_bool(0.15) {
        edges.push(sample_edge(&mut rng, false));
    }
    let n_wires = if rng.random_bool(0.25) {
        rng.random_range(1..=3)
    } else {
        0
    };
    let wires = (0..n_wires).map(|_| sample_wire(&mut rng)).collect();
    let marker = rng.random_bool(0.6).then(|| {
        let x = if rng.random_bool(0.5) {
            uniform(&mut rng, -0.45, -0.38)
        } else {
            uniform(&mut rng, 0.36, 0.43)
        };
        (
            x,
            uniform(&mut rng, -0.46, -0.38),
            uniform(&mut rng, 0.025, 0.04),
        )
    });
    let angle = uniform(&mut rng, 0.0, 2.0 * PI);
    let heel_amp = uniform(&mut rng, 0.0, 0.08);
    let exposure = Exposure {
        gain: uniform(&mut rng, 0.75, 1.05),
        offset: uniform(&mut rng, -0.15, 0.06),
        gamma: uniform(&mut rng, 0.8, 1.6),
        noise_sd: uniform(&mut rng, 0.004, 0.03),
        grain_sd: uniform(&mut rng, 0.0, 0.02),
        heel: (heel_amp * angle.cos(), heel_amp * angle.sin()),
        mottle: uniform(&mut rng, 0.01, 0.045),
    };
    let hila = [lungs[0].hilum, lungs[1].hilum];
    let ptx = if positive {
        sample_ptx_set(&mut case_rng(case_seed, 2), hila)
    } else {
        Vec::new()
    };
    CaseParams {
        pose,
        body,
        lungs,
        bones,
        edges,
        wires,
        marker,
        exposure,
        ptx,
        texture_seed: rng.random(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_deterministic_and_positive_flag_controls_objects() {
        for seed in 0..50u64 {
            let a = sample_case(seed, true);
            assert!(!a.ptx.is_empty() && a.ptx.len() <= 2);
            assert!(sample_case(seed, false).ptx.is_empty());
            assert_eq!(format!("{a:?}"), format!("{:?}", sample_case(seed, true)));
            assert!(a.pose.rot.abs() <= 4.5f32.to_radians() + 1e-6);
            assert!(a.lungs[0].side < 0.0 && a.lungs[1].side > 0.0);
        }
    }
}
