//! Renders one synthetic chest radiograph and its pneumothorax masks from [`CaseParams`]: a
//! density map (body, mediastinum, lungs, vessels, bones, confounders, pneumothorax rims) mapped
//! to 8-bit intensity through a per-image exposure curve, plus detector noise.

use super::filter::{blur, distance_to_outside, value_noise};
use super::params::Lung;
use super::params::{Bones, CaseParams, Edge};
use super::ptx::{Ptx, PtxShape};
use super::rng::{case_rng, PixelNoise};
use super::vessels::{vessel_tree, Canvas};

/// The rendered image (row-major, `size²`) and one 0/1 mask per non-empty object.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub(crate) image: Vec<u8>,
    pub(crate) objects: Vec<Vec<u8>>,
}

#[inline]
fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Pixel ↔ anatomy mapping of one image.
#[derive(Debug, Clone, Copy)]
struct Frame {
    size: f32,
    cos: f32,
    sin: f32,
    scale: f32,
    shift: (f32, f32),
}

impl Frame {
    /// Anatomy coordinates of pixel centre `(px, py)`.
    #[inline]
    fn to_anatomy(self, px: f32, py: f32) -> (f32, f32) {
        let u = (px + 0.5) / self.size - 0.5 - self.shift.0;
        let v = (py + 0.5) / self.size - 0.5 - self.shift.1;
        (
            (self.cos * u + self.sin * v) / self.scale,
            (-self.sin * u + self.cos * v) / self.scale,
        )
    }

    /// Pixel coordinates of anatomy point `(x, y)`.
    #[inline]
    fn to_pixel(self, x: f32, y: f32) -> (f32, f32) {
        let u = self.scale * (self.cos * x - self.sin * y) + self.shift.0;
        let v = self.scale * (self.sin * x + self.cos * y) + self.shift.1;
        ((u + 0.5) * self.size - 0.5, (v + 0.5) * self.size - 0.5)
    }
}

/// Density of the posterior and anterior ribs and the clavicle at lateral distance `lx`, height `y`.
fn bone_density(b: &Bones, lx: f32, y: f32, e: f32) -> f32 {
    let mut d = 0.0;
    // Posterior ribs: spacing grows downwards, Q(k) = s·(k + g·k²/2) above the rib curve.
    if lx > 0.02 && lx < b.rib_lx_max {
        let q = y - (b.post_y0 - b.post_slope * lx + b.post_curve * lx * lx);
        if q > -e {
            let (s, g) = (b.post_spacing, b.post_growth);
            let k = ((1.0 + 2.0 * g * q.max(0.0) / s).sqrt() - 1.0) / g;
            let kf = k.floor();
            if (kf as usize) < b.count {
                let start = s * (kf + 0.5 * g * kf * kf);
                let width = b.post_width * s * (1.0 + g * kf);
                let p = q - start;
                let inside = smoothstep(-e, e, p) * smoothstep(-e, e, width - p);
                let c = (2.0 * p / width - 1.0).abs();
                let profile = 0.6 + 0.4 * c * c * c * c;
                let fade = smoothstep(b.rib_lx_max, b.rib_lx_max - 0.03, lx)
                    * smoothstep(0.02, 0.05, lx)
                    * (1.0 - 0.6 * smoothstep(0.2, 0.4, y));
                d += b.post_density * inside * profile * fade;
            }
        }
    }
    // Anterior ribs: fainter, descending medially, invisible medial to the costal cartilage.
    if lx > 0.1 && lx < b.rib_lx_max {
        let q = y - (b.ant_y0 + b.ant_slope * (b.rib_lx_max - lx));
        if q > 0.0 {
            let k = (q / b.ant_spacing).floor();
            if k < 7.0 {
                let p = q - k * b.ant_spacing;
                let width = 0.42 * b.ant_spacing;
                let inside = smoothstep(-e, e, p) * smoothstep(-e, e, width - p);
                d += b.ant_density * inside * smoothstep(0.1, 0.18, lx);
            }
        }
    }
    // Clavicle: an S-bent bar from the sternal end to the acromion.
    let (m, l) = (b.clav_med, b.clav_lat);
    if lx > m.0 - 0.01 && lx < l.0 + 0.01 {
        let t = ((lx - m.0) / (l.0 - m.0)).clamp(0.0, 1.0);
        let yc = m.1 + (l.1 - m.1) * t + b.clav_bend * (std::f32::consts::PI * t).sin();
        let half = b.clav_half * (1.25 - 0.35 * t);
        let dist = (y - yc).abs();
        if dist < half + e {
            let tube = (1.0 - (dist / half).min(1.0).powi(2)).sqrt();
            let ends =
                smoothstep(m.0 - 0.01, m.0 + 0.01, lx) * smoothstep(l.0 + 0.01, l.0 - 0.01, lx);
            d +=
                b.clav_density * (0.55 + 0.45 * tube) * smoothstep(half + e, half - e, dist) * ends;
        }
    }
    d
}

/// Density added by a scapula border or skin fold at anatomy point `(x, y)`.
fn edge_density(edge: &Edge, x: f32, y: f32) -> f32 {
    if y < edge.y0 - 0.03 || y > edge.y1 + 0.03 {
        return 0.0;
    }
    let lx = edge.side * x;
    let t = y - edge.y0;
    let xe = edge.x0 + edge.a * t + edge.b * t * t;
    let along = smoothstep(edge.y0 - 0.03, edge.y0 + 0.02, y)
        * smoothstep(edge.y1 + 0.03, edge.y1 - 0.02, y);
    edge.density * smoothstep(xe - edge.soft, xe + edge.soft, lx) * along
}

/// Distance (pixels) to the outside of one lung over the lung's pixel bounding box.
struct DepthMap {
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    dist: Vec<f32>,
}

impl DepthMap {
    fn new(lung: &Lung, frame: Frame, size: usize) -> Self {
        let (bx0, bx1, by0, by1) = lung.outline.bounds;
        let corners = [(bx0, by0), (bx0, by1), (bx1, by0), (bx1, by1)]
            .map(|(lx, y)| frame.to_pixel(lung.side * lx, y));
        let lo = |f: fn(&(f32, f32)) -> f32| corners.iter().map(f).fold(f32::MAX, f32::min);
        let hi = |f: fn(&(f32, f32)) -> f32| corners.iter().map(f).fold(f32::MIN, f32::max);
        let clamp = |v: f32| (v.max(0.0) as usize).min(size - 1);
        let (x0, x1) = (clamp(lo(|c| c.0) - 3.0), clamp(hi(|c| c.0) + 3.0));
        let (y0, y1) = (clamp(lo(|c| c.1) - 3.0), clamp(hi(|c| c.1) + 3.0));
        let (w, h) = (x1 - x0 + 1, y1 - y0 + 1);
        let inside: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = frame.to_anatomy((x0 + i % w) as f32, (y0 + i / w) as f32);
                let (r, _, rb) = lung.outline.polar(lung.side * x, y);
                r < rb
            })
            .collect();
        Self {
            x0,
            y0,
            w,
            h,
            dist: distance_to_outside(&inside, w, h),
        }
    }

    #[inline]
    fn at(&self, px: usize, py: usize) -> Option<f32> {
        let (x, y) = (px.checked_sub(self.x0)?, py.checked_sub(self.y0)?);
        (x < self.w && y < self.h).then(|| self.dist[y * self.w + x])
    }
}

/// Renders `params` at `size`×`size`.
pub(crate) fn render(params: &CaseParams, size: usize) -> Rendered {
    render_with(params, size, true)
}

/// [`render`], optionally without the lung texture (vessels, parenchyma), for tests.
fn render_with(params: &CaseParams, size: usize, lung_texture: bool) -> Rendered {
    let n = size * size;
    let pose = &params.pose;
    let frame = Frame {
        size: size as f32,
        cos: pose.rot.cos(),
        sin: pose.rot.sin(),
        scale: pose.scale,
        shift: pose.shift,
    };
    let px_norm = 1.0 / (size as f32 * pose.scale);
    let e = 1.0 * px_norm;

    // Vessel trees (lung-only texture) and overlays (wires, marker), rasterised in pixels.
    let mut vessels = Canvas::new(size, size);
    let mut trng = case_rng(params.texture_seed, 3);
    let k = size as f32 * pose.scale;
    for lung in &params.lungs {
        // Projected density grows slower than the calibre, so small vessels stay visible.
        let amp = |r: f32| lung.vessel_density * (r / 0.005).powf(0.6);
        for s in vessel_tree(&mut trng, lung) {
            let a = frame.to_pixel(lung.side * s.a.0, s.a.1);
            let b = frame.to_pixel(lung.side * s.b.0, s.b.1);
            vessels.stamp(a, b, s.ra * k, s.rb * k, amp(s.ra), amp(s.rb));
        }
    }
    // Vessels are soft-edged at film resolution.
    blur(
        &mut vessels.buf,
        size,
        size,
        (size as f32 / 600.0).round() as usize,
        2,
    );
    let mut overlay = Canvas::new(size, size);
    for wire in &params.wires {
        let p = wire.p.map(|(x, y)| frame.to_pixel(x, y));
        overlay.stamp_bezier(p, wire.radius * size as f32, wire.density);
    }
    if let Some((mx, my, ms)) = params.marker {
        let to_px = |x: f32, y: f32| ((x + 0.5) * size as f32, (y + 0.5) * size as f32);
        let r = (0.12 * ms * size as f32).max(0.7);
        overlay.stamp(to_px(mx, my), to_px(mx, my + ms), r, r, 0.5, 0.5);
        overlay.stamp(
            to_px(mx, my + ms),
            to_px(mx + 0.6 * ms, my + ms),
            r,
            r,
            0.5,
            0.5,
        );
    }

    let noise = PixelNoise::new(params.texture_seed);
    let parenchyma = value_noise(PixelNoise::new(params.texture_seed ^ 1), size, size, 120);
    let mottle = value_noise(PixelNoise::new(params.texture_seed ^ 2), size, size, 5);
    let grain = value_noise(
        PixelNoise::new(params.texture_seed ^ 3),
        size,
        size,
        (size / 3).clamp(1, 340),
    );

    let ex = &params.exposure;
    let lut: Vec<f32> = (0..4096)
        .map(|k| (k as f32 / 4095.0).powf(ex.gamma))
        .collect();
    // Film-like saturating response to density, tabulated on [RESP_LO, RESP_HI]: dense regions
    // compress, as in a radiograph.
    const RESP_LO: f32 = -1.0;
    const RESP_HI: f32 = 2.5;
    let resp_step = (RESP_HI - RESP_LO) / 4095.0;
    let resp: Vec<f32> = (0..4096)
        .map(|k| {
            let d = RESP_LO + k as f32 * resp_step;
            (1.0 - (-1.6 * d).exp()) / (1.0 - (-1.6f32).exp())
        })
        .collect();
    let body = &params.body;
    let mut objects = vec![vec![0u8; n]; params.ptx.len()];
    let per_lung: [Vec<(usize, &Ptx)>; 2] = [0, 1].map(|li| {
        params
            .ptx
            .iter()
            .enumerate()
            .filter(|(_, p)| p.lung == li)
            .collect()
    });
    // Collapsed lungs are denser: scale their air by the largest rim on that side.
    let collapse: [f32; 2] = [0, 1].map(|li| {
        1.0 - 0.35
            * per_lung[li]
                .iter()
                .map(|(_, p)| p.severity())
                .fold(0.0, f32::max)
    });
    let min_thick = 2.5 * px_norm;
    // True distance to the chest wall for lungs with rims, so a rim's inner edge (the visceral
    // pleura) runs parallel to the wall; the polar depth is only radial.
    let rim_depths: Vec<Option<DepthMap>> = params
        .lungs
        .iter()
        .zip(&per_lung)
        .map(|(lung, objs)| {
            objs.iter()
                .any(|(_, p)| matches!(p.shape, PtxShape::Rim { .. }))
                .then(|| DepthMap::new(lung, frame, size))
        })
        .collect();
    let mut image = vec![0u8; n];

    for py in 0..size {
        for px in 0..size {
            let i = py * size + px;
            let (x, y) = frame.to_anatomy(px as f32, py as f32);
            let ax = x.abs();

            // Body: silhouette with a thickness profile, neck to shoulders to torso.
            let hw = body.neck_half
                + (body.torso_half - body.neck_half)
                    * smoothstep(body.neck_y, body.shoulder_y, y).sqrt();
            let hw = hw * (1.0 - body.waist * (y - 0.1).max(0.0));
            let inside = smoothstep(-e, e, hw - ax);
            let thick = (1.0 - (ax / hw).powi(2)).max(0.0).sqrt();
            let mut d = body.tissue * (0.3 + 0.7 * thick.sqrt()) * inside;
            // Mediastinum: spine with vertebral banding, heart, trachea, gastric bubble.
            let vert = 0.8 + 0.2 * (y * 140.0).sin();
            d += body.spine_density
                * vert
                * smoothstep(body.spine_half + e, body.spine_half - e, ax);
            let (hx, hy, hrx, hry) = body.heart;
            let hd = 1.0 - ((x - hx) / hrx).powi(2) - ((y - hy) / hry).powi(2);
            d += body.heart_density * smoothstep(0.0, 0.35, hd);
            d -= body.trachea_density
                * smoothstep(0.022, 0.016, ax)
                * smoothstep(-0.1, -0.2, y)
                * smoothstep(body.neck_y - 0.05, body.neck_y + 0.05, y);
            if let Some((bx, by, brx, bry)) = body.bubble {
                let bd = 1.0 - ((x - bx) / brx).powi(2) - ((y - by) / bry).powi(2);
                d -= 0.15 * smoothstep(0.0, 0.3, bd);
            }

            // Lungs, with pneumothorax rims.
            for (li, lung) in params.lungs.iter().enumerate() {
                let lx = lung.side * x;
                let (x0, x1, y0, y1) = lung.outline.bounds;
                if lx < x0 - 0.01 || lx > x1 + 0.01 || y < y0 - 0.01 || y > y1 + 0.01 {
                    continue;
                }
                let (r, phi, rb) = lung.outline.polar(lx, y);
                let depth = rb - r;
                if depth < -e {
                    continue;
                }
                let lm = smoothstep(-e, e, depth);
                // Less air in projection near the edges, over the hilum and towards the bases.
                let lower = 1.0 - 0.3 * smoothstep(-0.05, 0.2, y);
                let (hx, hy) = (lx - lung.hilum.0, (y - lung.hilum.1) * 0.5);
                let hd = (hx * hx + hy * hy).sqrt();
                let hilar = 1.0 - 0.35 * smoothstep(0.12, 0.0, hd);
                let ramp = 0.5 + 0.5 * smoothstep(0.0, 0.12, depth);
                let air = lung.air * ramp * lower * hilar * collapse[li];
                let (mut kill, mut dark, mut line) = (0.0f32, 0.0f32, 0.0f32);
                let wall = rim_depths[li]
                    .as_ref()
                    .and_then(|m| m.at(px, py))
                    .map_or(depth, |d| (d - 0.5) * px_norm);
                for &(oi, p) in &per_lung[li] {
                    let Some(air_side) = p.air_side(&lung.outline, lx, y, phi, wall, min_thick)
                    else {
                        continue;
                    };
                    if depth > 0.0 && air_side > 0.0 {
                        objects[oi][i] = 1;
                    }
                    let soft = smoothstep(-e, e, air_side);
                    kill = kill.max(soft);
                    dark = dark.max(p.darkness * soft);
                    // The visceral pleural line, fading where the air layer thins to nothing.
                    let lw = p.line_half.max(0.6 / size as f32) / pose.scale;
                    let z = air_side / lw;
                    line =
                        line.max(p.line_density * (-z * z).exp() * smoothstep(0.0, 3.0 * lw, wall));
                }
                let texture = if lung_texture {
                    vessels.buf[i]
                        + lung.texture * parenchyma[i]
                        + 0.05 * smoothstep(0.045, 0.0, hd)
                } else {
                    0.0
                };
                // The pleural air rim is seen tangentially: full air thickness, plus its own darkness.
                let rim_air = lung.air * lower * (0.85 + 0.15 * ramp) + dark;
                d += lm * (-(air * (1.0 - kill) + rim_air * kill) + texture * (1.0 - kill)) + line;
            }

            // Bones and confounders project over everything inside the body.
            d += bone_density(&params.bones, ax, y, e) * inside;
            for edge in &params.edges {
                d += edge_density(edge, x, y) * inside;
            }
            d += overlay.buf[i];

            // Exposure curve, heel effect, low-frequency mottle, then detector noise.
            let (u, v) = (
                (px as f32 + 0.5) / size as f32 - 0.5,
                (py as f32 + 0.5) / size as f32 - 0.5,
            );
            let r = resp[((d - RESP_LO) / resp_step).clamp(0.0, 4095.0) as usize];
            let lin =
                ex.offset + ex.gain * r + ex.heel.0 * u + ex.heel.1 * v + ex.mottle * mottle[i];
            let g = lut[(lin.clamp(0.0, 1.0) * 4095.0) as usize];
            let val = g
                + ex.noise_sd * (0.4 + 0.6 * g.sqrt()) * noise.gauss(i as u64)
                + ex.grain_sd * grain[i];
            image[i] = (val * 255.0 + 0.5).clamp(0.0, 255.0) as u8;
        }
    }
    objects.retain(|m| m.iter().any(|&v| v != 0));
    Rendered { image, objects }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::params::sample_case;

    #[test]
    fn frame_round_trips() {
        let f = Frame {
            size: 256.0,
            cos: 0.05f32.cos(),
            sin: 0.05f32.sin(),
            scale: 0.93,
            shift: (0.02, -0.01),
        };
        let (x, y) = f.to_anatomy(37.0, 201.0);
        let (px, py) = f.to_pixel(x, y);
        assert!(
            (px - 37.0).abs() < 1e-3 && (py - 201.0).abs() < 1e-3,
            "({px}, {py})"
        );
    }

    #[test]
    fn lungs_are_darker_than_mediastinum() {
        for seed in 0..6 {
            let p = sample_case(seed, false);
            let s = 128;
            let img = render(&p, s).image;
            let frame = Frame {
                size: s as f32,
                cos: p.pose.rot.cos(),
                sin: p.pose.rot.sin(),
                scale: p.pose.scale,
                shift: p.pose.shift,
            };
            let at = |x: f32, y: f32| {
                let (px, py) = frame.to_pixel(x, y);
                img[py.round() as usize * s + px.round() as usize]
            };
            // Mid-lung (both sides) against the heart/mediastinum at the same height.
            let (l, r, m) = (at(-0.24, -0.12), at(0.24, -0.12), at(0.0, 0.05));
            assert!(
                l < m && r < m,
                "seed {seed}: lungs {l} {r} vs mediastinum {m}"
            );
        }
    }

    /// Mean intensity inside the union mask and over the rest of the affected lungs (both away
    /// from the mask boundary) of positive case `seed`.
    fn mean_inside_and_rest_of_lung(seed: u64, s: usize) -> (f64, f64) {
        let p = sample_case(seed, true);
        let out = render(&p, s);
        let frame = Frame {
            size: s as f32,
            cos: p.pose.rot.cos(),
            sin: p.pose.rot.sin(),
            scale: p.pose.scale,
            shift: p.pose.shift,
        };
        let mut mask = vec![0u8; s * s];
        for o in &out.objects {
            mask.iter_mut().zip(o).for_each(|(a, b)| *a |= b);
        }
        let in_lung = |px: usize, py: usize| {
            let (x, y) = frame.to_anatomy(px as f32, py as f32);
            p.ptx.iter().any(|o| {
                let l = &p.lungs[o.lung];
                let (r, _, rb) = l.outline.polar(l.side * x, y);
                r < rb
            })
        };
        let (mut a, mut b) = ((0.0, 0.0), (0.0, 0.0));
        for py in 1..s - 1 {
            for px in 1..s - 1 {
                let i = py * s + px;
                let v = f64::from(out.image[i]);
                let nb = [i - 1, i + 1, i - s, i + s];
                if mask[i] == 1 && nb.iter().all(|&j| mask[j] == 1) {
                    a = (a.0 + v, a.1 + 1.0);
                } else if nb.iter().all(|&j| mask[j] == 0) && in_lung(px, py) {
                    b = (b.0 + v, b.1 + 1.0);
                }
            }
        }
        (a.0 / a.1, b.0 / b.1)
    }

    #[test]
    fn pneumothorax_is_darker_than_the_rest_of_its_lung() {
        let n = 20;
        let darker = (0..n).filter(|&seed| {
            let (ptx, lung) = mean_inside_and_rest_of_lung(seed, 192);
            ptx < lung
        });
        let darker = darker.count();
        eprintln!("pneumothorax darker than its lung in {darker}/{n} cases");
        assert!(darker >= 16, "darker in {darker}/{n}");
    }

    #[test]
    fn pneumothorax_has_no_lung_texture() {
        let s = 192;
        let mut total_inside = 0;
        for seed in 0..12 {
            let p = sample_case(seed, true);
            let (with, without) = (render_with(&p, s, true), render_with(&p, s, false));
            let mask = {
                let mut m = vec![0u8; s * s];
                with.objects
                    .iter()
                    .for_each(|o| m.iter_mut().zip(o).for_each(|(a, b)| *a |= b));
                m
            };
            let (mut inside, mut same_inside, mut lung_diff) = (0, 0, 0);
            for py in 2..s - 2 {
                for px in 2..s - 2 {
                    let i = py * s + px;
                    let deep = (0..9).all(|k| mask[(py + k / 3 - 1) * s + px + k % 3 - 1] == 1);
                    let differs = with.image[i] != without.image[i];
                    if deep {
                        inside += 1;
                        same_inside += usize::from(!differs);
                    } else if mask[i] == 0 && differs {
                        lung_diff += 1;
                    }
                }
            }
            assert_eq!(
                same_inside, inside,
                "seed {seed}: texture inside the pneumothorax"
            );
            total_inside += inside;
            assert!(
                lung_diff > s * s / 20,
                "seed {seed}: the lungs have texture ({lung_diff} px)"
            );
        }
        assert!(
            total_inside > 100,
            "too few interior pneumothorax pixels tested: {total_inside}"
        );
    }

    #[test]
    fn positive_cases_have_masks_inside_the_lungs() {
        let mut seen = 0;
        for seed in 0..12 {
            let p = sample_case(seed, true);
            let out = render(&p, 96);
            assert!(
                !out.objects.is_empty(),
                "seed {seed}: a positive case lost all objects"
            );
            for m in &out.objects {
                let area = m.iter().filter(|&&v| v == 1).count();
                assert!(area > 0 && area < 96 * 96 / 4, "seed {seed}: area {area}");
                assert!(m.iter().all(|&v| v <= 1));
                seen += 1;
            }
        }
        assert!(seen >= 12);
    }
}
