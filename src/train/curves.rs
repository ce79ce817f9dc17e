//! `curves.png`: the training curves of a run, redrawn after every epoch: training and
//! validation loss, validation score (best triplet), learning rate (log scale) and sample rate,
//! per epoch, one colour per fold, part boundaries marked by dotted vertical lines.

use crate::canvas::glyph;
use crate::train::run_dir::EpochMetrics;

const W: usize = 960;
const PANEL_H: usize = 190;
const MARGIN_L: usize = 70;
const MARGIN_R: usize = 20;
const TITLE_H: usize = 22;
const PANELS: usize = 4;
const H: usize = PANELS * (PANEL_H + TITLE_H) + 30;
const COLORS: [[u8; 3]; 6] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
];

/// An RGB canvas.
struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas {
            px: vec![255; W * H * 3],
        }
    }

    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < W && (y as usize) < H {
            let i = (y as usize * W + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: [u8; 3], dotted: bool) {
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as i64).max(1);
        for k in 0..=steps {
            if dotted && (k / 3) % 2 == 1 {
                continue;
            }
            let t = k as f64 / steps as f64;
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            self.set(x.round() as i64, y.round() as i64, c);
            self.set(x.round() as i64, y.round() as i64 + 1, c);
        }
    }

    fn text(&mut self, x: i64, y: i64, s: &str, c: [u8; 3]) {
        for (i, ch) in s.chars().enumerate() {
            let rows = glyph(ch);
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.set(x + i as i64 * 6 + col, y + r as i64, c);
                    }
                }
            }
        }
    }
}

/// Short number text for axis labels.
fn num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 0.01 && v.abs() < 1e4 {
        format!("{v:.3}")
    } else {
        format!("{v:.1e}")
    }
}

/// One line of a panel: its fold, its style (`val` is dotted) and its `(x, y)` points.
type Series<'a> = (u8, &'a str, Vec<(f64, f64)>);

/// One panel: `series` per fold, with `log` y axis if asked.
struct Panel<'a> {
    title: &'a str,
    log: bool,
    series: Vec<Series<'a>>,
}

/// Renders the curves of `metrics` as a PNG.
pub fn render_curves(metrics: &[EpochMetrics]) -> Result<Vec<u8>, png::EncodingError> {
    let mut folds: Vec<u8> = metrics.iter().map(|m| m.fold).collect();
    folds.sort();
    folds.dedup();
    // x: the epoch's index within its fold's run (parts one after another).
    let mut xs: Vec<(u8, usize, f64, &EpochMetrics)> = Vec::new();
    for &f in &folds {
        for (i, m) in metrics.iter().filter(|m| m.fold == f).enumerate() {
            xs.push((f, m.part, i as f64, m));
        }
    }
    let pick = |get: fn(&EpochMetrics) -> f64, style: &'static str| {
        folds
            .iter()
            .map(|&f| {
                let pts = xs
                    .iter()
                    .filter(|p| p.0 == f)
                    .map(|p| (p.2, get(p.3)))
                    .filter(|p| p.1.is_finite())
                    .collect();
                (f, style, pts)
            })
            .collect::<Vec<_>>()
    };
    let mut loss = pick(|m| m.train_loss, "train");
    loss.extend(pick(|m| m.val_loss, "val"));
    let panels = [
        Panel {
            title: "loss: train (solid), validation (dotted)",
            log: false,
            series: loss,
        },
        Panel {
            title: "validation score (best triplet mean dice)",
            log: false,
            series: pick(|m| m.val_score, "score"),
        },
        Panel {
            title: "learning rate (log)",
            log: true,
            series: pick(|m| m.lr, "lr"),
        },
        Panel {
            title: "sample rate (non-empty share)",
            log: false,
            series: pick(|m| m.sample_rate, "rate"),
        },
    ];
    let x_max = xs.iter().map(|p| p.2).fold(1.0f64, f64::max);
    let mut c = Canvas::new();
    for (k, panel) in panels.iter().enumerate() {
        let top = (k * (PANEL_H + TITLE_H) + TITLE_H) as f64;
        let (left, right, bottom) = (MARGIN_L as f64, (W - MARGIN_R) as f64, top + PANEL_H as f64);
        c.text(MARGIN_L as i64, top as i64 - 14, panel.title, [0, 0, 0]);
        let tf = |v: f64| if panel.log { v.max(1e-12).log10() } else { v };
        let ys: Vec<f64> = panel
            .series
            .iter()
            .flat_map(|s| s.2.iter().map(|p| tf(p.1)))
            .collect();
        let (mut lo, mut hi) = ys
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-12 {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        let pad = (hi - lo) * 0.05;
        let (lo, hi) = (lo - pad, hi + pad);
        let gray = [160, 160, 160];
        for (a, b) in [
            ((left, top), (right, top)),
            ((left, bottom), (right, bottom)),
            ((left, top), (left, bottom)),
            ((right, top), (right, bottom)),
        ] {
            c.line(a, b, gray, false);
        }
        let label = |v: f64| {
            if panel.log {
                num(10f64.powf(v))
            } else {
                num(v)
            }
        };
        c.text(4, top as i64, &label(hi), [0, 0, 0]);
        c.text(4, bottom as i64 - 7, &label(lo), [0, 0, 0]);
        let px = |x: f64| left + (right - left) * x / x_max;
        let py = |y: f64| bottom - (bottom - top) * (tf(y) - lo) / (hi - lo);
        // Part boundaries.
        for &f in &folds {
            let color = COLORS[f as usize % COLORS.len()];
            let mut last_part = None;
            for p in xs.iter().filter(|p| p.0 == f) {
                if last_part.is_some() && last_part != Some(p.1) {
                    let x = px(p.2 - 0.5);
                    c.line((x, top), (x, bottom), color, true);
                }
                last_part = Some(p.1);
            }
        }
        for (f, style, pts) in &panel.series {
            let color = COLORS[*f as usize % COLORS.len()];
            let dotted = *style == "val";
            for w in pts.windows(2) {
                c.line(
                    (px(w[0].0), py(w[0].1)),
                    (px(w[1].0), py(w[1].1)),
                    color,
                    dotted,
                );
            }
            if pts.len() == 1 {
                let (x, y) = (px(pts[0].0), py(pts[0].1));
                c.line((x - 2.0, y), (x + 2.0, y), color, false);
            }
        }
    }
    let foot = (H - 20) as i64;
    c.text(
        MARGIN_L as i64,
        foot,
        &format!("epochs (0..{})", x_max as u64),
        [0, 0, 0],
    );
    for (i, &f) in folds.iter().enumerate() {
        c.text(
            (W / 2 + i * 70) as i64,
            foot,
            &format!("fold {f}"),
            COLORS[f as usize % COLORS.len()],
        );
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, W as u32, H as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(&c.px)?;
        w.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(fold: u8, part: usize, epoch: u32, loss: f64, score: f64) -> EpochMetrics {
        EpochMetrics {
            fold,
            part,
            epoch,
            lr: 1e-4 / (1.0 + epoch as f64),
            next_lr: 1e-4,
            sample_rate: 0.8 - 0.2 * part as f64,
            n_pos: 10,
            n_neg: 3,
            train_loss: loss,
            val_loss: loss * 1.1,
            val_score: score,
            best_triplet: [0.75, 1000.0, 0.3],
            per_triplet: vec![score],
            encoder_frozen: false,
            seconds: 1.0,
            data_wait_share: 0.1,
            images_per_second: 10.0,
            best: false,
        }
    }

    #[test]
    fn curves_render_as_a_png_with_every_series_drawn() {
        let metrics: Vec<EpochMetrics> = (0..6)
            .map(|e| {
                m(
                    0,
                    (e / 3) as usize,
                    e % 3,
                    1.0 / (1.0 + e as f64),
                    0.5 + 0.05 * e as f64,
                )
            })
            .chain((0..4).map(|e| m(1, 0, e, 0.8, 0.6)))
            .collect();
        let png_bytes = render_curves(&metrics).unwrap();
        let dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width as usize, info.height as usize), (W, H));
        // Both folds' colours appear.
        for f in [0usize, 1] {
            let c = COLORS[f];
            assert!(buf.chunks(3).any(|p| p == c), "fold {f} not drawn");
        }
        assert!(render_curves(&[]).is_ok());
    }
}
