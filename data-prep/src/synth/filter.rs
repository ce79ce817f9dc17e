//! Cheap image filters for the synthetic generator: separable running-sum box blur, smooth
//! value-noise fields made from a coarse random grid (cost independent of the blur radius), and
//! the exact Euclidean distance transform (Felzenszwalb & Huttenlocher, 2012), all O(pixels).

use super::rng::PixelNoise;

/// Horizontal box blur of radius `r` (window `2r+1`, edges clamped) from `src` into `dst`.
fn box_h(src: &[f32], dst: &mut [f32], w: usize, h: usize, r: usize) {
    let norm = 1.0 / (2 * r + 1) as f32;
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        let out = &mut dst[y * w..(y + 1) * w];
        let at = |i: isize| row[i.clamp(0, w as isize - 1) as usize];
        let mut acc: f32 = (-(r as isize)..=r as isize).map(at).sum();
        for (x, o) in out.iter_mut().enumerate() {
            *o = acc * norm;
            let xi = x as isize;
            acc += at(xi + r as isize + 1) - at(xi - r as isize);
        }
    }
}

/// Vertical box blur of radius `r` from `src` into `dst`, processed row by row for locality.
fn box_v(src: &[f32], dst: &mut [f32], w: usize, h: usize, r: usize) {
    let norm = 1.0 / (2 * r + 1) as f32;
    let row = |i: isize| i.clamp(0, h as isize - 1) as usize;
    let mut acc = vec![0.0f32; w];
    for k in -(r as isize)..=r as isize {
        let y = row(k);
        for (a, v) in acc.iter_mut().zip(&src[y * w..(y + 1) * w]) {
            *a += v;
        }
    }
    for y in 0..h {
        for (o, a) in dst[y * w..(y + 1) * w].iter_mut().zip(&acc) {
            *o = a * norm;
        }
        let add = row(y as isize + r as isize + 1);
        let sub = row(y as isize - r as isize);
        for x in 0..w {
            acc[x] += src[add * w + x] - src[sub * w + x];
        }
    }
}

/// In-place approximate Gaussian blur: `passes` rounds of separable box blur of radius `r`.
pub(crate) fn blur(buf: &mut [f32], w: usize, h: usize, r: usize, passes: usize) {
    if r == 0 || passes == 0 {
        return;
    }
    let mut tmp = vec![0.0f32; buf.len()];
    for _ in 0..passes {
        box_h(buf, &mut tmp, w, h, r);
        box_v(&tmp, buf, w, h, r);
    }
}

/// A smooth random field of size `w`×`h` with about `cells` features across the larger side,
/// zero mean and roughly unit standard deviation: random values on a coarse lattice,
/// interpolated with smoothstep weights (value noise).
pub(crate) fn value_noise(noise: PixelNoise, w: usize, h: usize, cells: usize) -> Vec<f32> {
    let cells = cells.max(1);
    let step = w.max(h) as f32 / cells as f32;
    let gw = (w as f32 / step).ceil() as usize + 2;
    let gh = (h as f32 / step).ceil() as usize + 2;
    // Uniform in [-1, 1) has std 1/sqrt(3); interpolation lowers it further, so scale by ~2.2.
    let grid: Vec<f32> = (0..gw * gh)
        .map(|i| (noise.unit(i as u64) * 2.0 - 1.0) * 2.2)
        .collect();
    let inv = 1.0 / step;
    // Per-column lattice index and weight, computed once.
    let cols: Vec<(usize, f32)> = (0..w)
        .map(|x| {
            let gx = x as f32 * inv;
            let i = gx.floor();
            let t = gx - i;
            (i as usize, t * t * (3.0 - 2.0 * t))
        })
        .collect();
    let mut out = vec![0.0f32; w * h];
    for y in 0..h {
        let gy = y as f32 * inv;
        let j = gy.floor();
        let ty = gy - j;
        let sy = ty * ty * (3.0 - 2.0 * ty);
        let (r0, r1) = (&grid[j as usize * gw..], &grid[(j as usize + 1) * gw..]);
        for (o, &(i, sx)) in out[y * w..(y + 1) * w].iter_mut().zip(&cols) {
            let top = r0[i] + (r0[i + 1] - r0[i]) * sx;
            let bot = r1[i] + (r1[i + 1] - r1[i]) * sx;
            *o = top + (bot - top) * sy;
        }
    }
    out
}

/// Squared distance transform of one line: `d[q] = min_p (q − p)² + f[p]` (lower envelope of
/// parabolas). `v` and `z` are scratch buffers of length `n` and `n + 1`.
fn edt_line(f: &[f64], d: &mut [f64], v: &mut [usize], z: &mut [f64]) {
    let n = f.len();
    let mut k = 0usize;
    v[0] = 0;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    for q in 1..n {
        let fq = f[q] + (q * q) as f64;
        let cross = |p: usize| (fq - (f[p] + (p * p) as f64)) / (2.0 * (q as f64 - p as f64));
        // z[0] = -inf, so k never drops below 0.
        let mut s = cross(v[k]);
        while s <= z[k] {
            k -= 1;
            s = cross(v[k]);
        }
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f64::INFINITY;
    }
    k = 0;
    for (q, out) in d.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let p = v[k];
        *out = (q as f64 - p as f64).powi(2) + f[p];
    }
}

/// Euclidean distance (pixels) from each pixel to the nearest pixel where `inside` is false;
/// 0 outside. A grid without outside pixels gets distances of about 1e6.
pub(crate) fn distance_to_outside(inside: &[bool], w: usize, h: usize) -> Vec<f32> {
    const FAR: f64 = 1e12;
    let mut g: Vec<f64> = inside.iter().map(|&i| if i { FAR } else { 0.0 }).collect();
    let n = w.max(h);
    let (mut f, mut d) = (vec![0.0f64; n], vec![0.0f64; n]);
    let (mut v, mut z) = (vec![0usize; n], vec![0.0f64; n + 1]);
    for x in 0..w {
        for y in 0..h {
            f[y] = g[y * w + x];
        }
        edt_line(&f[..h], &mut d[..h], &mut v, &mut z);
        for y in 0..h {
            g[y * w + x] = d[y];
        }
    }
    for y in 0..h {
        f[..w].copy_from_slice(&g[y * w..(y + 1) * w]);
        edt_line(&f[..w], &mut d[..w], &mut v, &mut z);
        g[y * w..(y + 1) * w].copy_from_slice(&d[..w]);
    }
    g.into_iter().map(|s| s.sqrt() as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_preserves_constant_and_mass() {
        let (w, h) = (17, 11);
        let mut c = vec![3.5f32; w * h];
        blur(&mut c, w, h, 3, 2);
        assert!(c.iter().all(|v| (v - 3.5).abs() < 1e-4));

        let mut d = vec![0.0f32; w * h];
        d[5 * w + 8] = 1.0;
        blur(&mut d, w, h, 1, 1);
        let mass: f32 = d.iter().sum();
        assert!((mass - 1.0).abs() < 1e-5, "mass {mass}");
        assert!((d[5 * w + 8] - 1.0 / 9.0).abs() < 1e-6);
        assert!((d[4 * w + 7] - 1.0 / 9.0).abs() < 1e-6);
        assert_eq!(d[3 * w + 8], 0.0);
    }

    #[test]
    fn distance_transform_matches_brute_force() {
        let (w, h) = (23, 17);
        // An irregular region: a disc plus a bar, with a hole.
        let inside: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let disc = (x - 9.0).powi(2) + (y - 8.0).powi(2) < 40.0;
                let bar = (14.0..21.0).contains(&x) && (3.0..14.0).contains(&y);
                let hole = x == 9.0 && y == 8.0;
                (disc || bar) && !hole
            })
            .collect();
        let got = distance_to_outside(&inside, w, h);
        for (i, &d) in got.iter().enumerate() {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            let want = (0..w * h)
                .filter(|&j| !inside[j])
                .map(|j| ((j % w) as f32 - x).hypot((j / w) as f32 - y))
                .fold(f32::MAX, f32::min);
            assert!((d - want).abs() < 1e-4, "pixel ({x}, {y}): {d} vs {want}");
        }
    }

    #[test]
    fn value_noise_is_smooth_and_centred() {
        let (w, h) = (128, 96);
        let n = value_noise(PixelNoise::new(7), w, h, 8);
        let mean = n.iter().sum::<f32>() / n.len() as f32;
        let sd = (n.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n.len() as f32).sqrt();
        assert!(mean.abs() < 0.35, "mean {mean}");
        assert!(sd > 0.4 && sd < 1.6, "sd {sd}");
        // Neighbouring pixels differ by far less than the field's spread.
        let max_step = (0..h)
            .flat_map(|y| (1..w).map(move |x| (y, x)))
            .map(|(y, x)| (n[y * w + x] - n[y * w + x - 1]).abs())
            .fold(0.0f32, f32::max);
        assert!(max_step < sd, "max step {max_step} vs sd {sd}");
    }
}
