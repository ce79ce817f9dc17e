//! `sweep.png`: one heatmap per prediction set of the overall mean Dice over top (rows) × area
//! (columns), at the (bottom, min contour area) of that set's best configuration; each cell
//! shows its value, the best cell is outlined, and one colour scale (viridis, labelled with its
//! range) is shared by all sets so that they compare at a glance.

use super::result::SweepResult;
use super::SweepError;
use crate::canvas::{Canvas, CHAR_H};
use std::path::Path;

const MARGIN: usize = 12;
const CELL_H: usize = 18;
const TITLE_H: usize = 2 * (CHAR_H + 5);
const BAR_W: usize = 18;
const BAR_H: usize = 160;
const BLACK: [u8; 3] = [0, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];
const RED: [u8; 3] = [220, 30, 30];

/// Viridis at 0, 1/4, 1/2, 3/4 and 1.
const VIRIDIS: [[f64; 3]; 5] = [
    [68.0, 1.0, 84.0],
    [59.0, 82.0, 139.0],
    [33.0, 145.0, 140.0],
    [94.0, 201.0, 98.0],
    [253.0, 231.0, 37.0],
];

/// The colour of `t` in `[0, 1]` (clamped) on the viridis scale.
pub fn colour(t: f64) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) } * 4.0;
    let k = (t.floor() as usize).min(3);
    let f = t - k as f64;
    let (a, b) = (VIRIDIS[k], VIRIDIS[k + 1]);
    [0, 1, 2].map(|i| (a[i] + (b[i] - a[i]) * f).round() as u8)
}

/// One set's panel: its grid of values (rows = tops, columns = areas) and its best cell.
struct Panel {
    title: [String; 2],
    values: Vec<Vec<Option<f64>>>,
    best: Option<(usize, usize)>,
}

fn panels(result: &SweepResult) -> Vec<Panel> {
    let g = &result.grid;
    result
        .sets
        .iter()
        .map(|set| {
            let all = set.overall();
            let best = set.best(1).first().copied();
            let (t0, a0, b, m) = match best {
                Some((i, _)) => {
                    let c = g.config(i);
                    let pos = |v: &[f64], x: f64| v.iter().position(|&y| y == x).unwrap_or(0);
                    let a = g.area.iter().position(|&y| y == c.area).unwrap_or(0);
                    (
                        pos(&g.top, c.top),
                        a,
                        pos(&g.bottom, c.bottom),
                        pos(&g.min_contour_area, c.min_contour_area),
                    )
                }
                None => (0, 0, 0, 0),
            };
            let values = (0..g.top.len())
                .map(|t| {
                    (0..g.area.len())
                        .map(|a| all.mean(g.index(t, a, b, m)))
                        .collect()
                })
                .collect();
            let title = [
                format!(
                    "{} ({} images, {}x{})",
                    set.name,
                    all.images(),
                    set.size,
                    set.size
                ),
                match best {
                    Some((_, d)) => format!(
                        "bottom {} min area {}: best top {} area {} dice {d:.4}",
                        g.bottom[b], g.min_contour_area[m], g.top[t0], g.area[a0]
                    ),
                    None => "no images".into(),
                },
            ];
            Panel {
                title,
                values,
                best: best.map(|_| (t0, a0)),
            }
        })
        .collect()
}

/// Draws the heatmaps of `result`.
pub fn render(result: &SweepResult) -> Canvas {
    let g = &result.grid;
    let panels = panels(result);
    let shown = panels
        .iter()
        .flat_map(|p| p.values.iter().flatten().flatten().copied());
    let (lo, hi) = shown.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let span = (hi - lo).max(1e-9);
    let top_labels: Vec<String> = g.top.iter().map(|t| t.to_string()).collect();
    let area_labels: Vec<String> = g.area.iter().map(|a| a.to_string()).collect();
    let widest = |v: &[String]| v.iter().map(|s| Canvas::text_width(s)).max().unwrap_or(0);
    let cell_w = (widest(&area_labels) + 8).max(Canvas::text_width("0.0000") + 8);
    let left = MARGIN + Canvas::text_width("top ") + widest(&top_labels) + 6;
    let grid_w = cell_w * g.area.len();
    let grid_h = CELL_H * g.top.len();
    let panel_h = TITLE_H + grid_h + 2 * (CHAR_H + 6) + MARGIN;
    let titles = panels
        .iter()
        .flat_map(|p| p.title.iter().map(|s| Canvas::text_width(s)))
        .max()
        .unwrap_or(0);
    let bar_x = left + grid_w.max(titles.saturating_sub(left - MARGIN)) + 3 * MARGIN;
    let width = bar_x + BAR_W + 6 + Canvas::text_width("0.0000") + MARGIN;
    let height = (MARGIN + panels.len() * panel_h).max(BAR_H + 4 * MARGIN);
    let mut c = Canvas::new(width, height);
    for (k, p) in panels.iter().enumerate() {
        let y0 = MARGIN + k * panel_h;
        c.text(MARGIN as i64, y0 as i64, &p.title[0], BLACK);
        c.text(MARGIN as i64, (y0 + CHAR_H + 4) as i64, &p.title[1], BLACK);
        let gy = y0 + TITLE_H;
        let mid = gy + grid_h / 2 - CHAR_H / 2;
        c.text(MARGIN as i64, mid as i64, "top", BLACK);
        for (t, row) in p.values.iter().enumerate() {
            let y = gy + t * CELL_H;
            let label = &top_labels[t];
            let lx = left - 6 - Canvas::text_width(label);
            c.text(lx as i64, (y + (CELL_H - CHAR_H) / 2) as i64, label, BLACK);
            for (a, v) in row.iter().enumerate() {
                let x = left + a * cell_w;
                let Some(v) = *v else {
                    c.fill_rect(x as i64, y as i64, cell_w, CELL_H, [200, 200, 200]);
                    continue;
                };
                let u = (v - lo) / span;
                c.fill_rect(x as i64, y as i64, cell_w, CELL_H, colour(u));
                let ink = if u < 0.6 { WHITE } else { BLACK };
                let text = format!("{v:.4}");
                let tx = x + (cell_w - Canvas::text_width(&text)) / 2;
                c.text(tx as i64, (y + (CELL_H - CHAR_H) / 2) as i64, &text, ink);
            }
        }
        if let Some((t, a)) = p.best {
            let (x, y) = ((left + a * cell_w) as i64, (gy + t * CELL_H) as i64);
            c.outline_rect(x, y, cell_w, CELL_H, RED);
            c.outline_rect(x + 1, y + 1, cell_w - 2, CELL_H - 2, RED);
        }
        let ay = gy + grid_h + 4;
        for (a, label) in area_labels.iter().enumerate() {
            let x = left + a * cell_w + (cell_w - Canvas::text_width(label)) / 2;
            c.text(x as i64, ay as i64, label, BLACK);
        }
        let caption = "area (pixels at the grid's area resolution)";
        c.text(left as i64, (ay + CHAR_H + 5) as i64, caption, BLACK);
    }
    // The colour scale: hi at the top, lo at the bottom.
    let by = 2 * MARGIN;
    for y in 0..BAR_H {
        let u = 1.0 - y as f64 / (BAR_H - 1) as f64;
        c.fill_rect(bar_x as i64, (by + y) as i64, BAR_W, 1, colour(u));
    }
    c.outline_rect(bar_x as i64 - 1, by as i64 - 1, BAR_W + 2, BAR_H + 2, BLACK);
    let lx = (bar_x + BAR_W + 6) as i64;
    c.text(lx, by as i64, &format!("{hi:.4}"), BLACK);
    let mid = (by + BAR_H / 2 - CHAR_H / 2) as i64;
    c.text(lx, mid, &format!("{:.4}", (lo + hi) / 2.0), BLACK);
    c.text(lx, (by + BAR_H - CHAR_H) as i64, &format!("{lo:.4}"), BLACK);
    c.text(bar_x as i64 - 4, (by - CHAR_H - 5) as i64, "dice", BLACK);
    c
}

/// Renders `result` and writes it to `path` as a PNG, atomically.
pub fn write(result: &SweepResult, path: &Path) -> Result<(), SweepError> {
    let bytes = render(result)
        .encode_png()
        .map_err(|source| SweepError::Png {
            path: path.to_path_buf(),
            source,
        })?;
    data_prep::atomic::write_bytes_atomic(path, &bytes).map_err(|source| SweepError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::result::SetResult;
    use crate::sweep::sums::{to_fixed, DiceSums};
    use crate::sweep::Grid;
    use data_prep::folds::Fold;

    #[test]
    fn colours_run_from_purple_to_yellow() {
        assert_eq!(colour(0.0), [68, 1, 84]);
        assert_eq!(colour(1.0), [253, 231, 37]);
        assert_eq!(colour(2.0), colour(1.0));
        assert_eq!(colour(0.5), [33, 145, 140]);
    }

    #[test]
    fn the_best_cell_is_outlined_and_cells_take_the_scale_colours() {
        let grid = Grid::from_toml_str("top=[0.5, 0.7]\narea=[10, 20]\nbottom=[0.3]", "g").unwrap();
        // dice per configuration (t, a): (0,0) 0.2, (0,1) 0.4, (1,0) 0.9 best, (1,1) 0.6
        let sums = DiceSums::from_parts(1, [0.2, 0.4, 0.9, 0.6].map(to_fixed).to_vec());
        let set = SetResult {
            name: "s_1".into(),
            size: 16,
            folds: vec![(Fold::Index(0), sums)],
        };
        let result = SweepResult {
            grid,
            sets: vec![set],
        };
        let c = render(&result);
        let px: Vec<[u8; 3]> = c.pixels().chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
        // lowest value is the bottom of the scale, highest the top
        assert!(px.contains(&colour(0.0)));
        assert!(px.contains(&RED));
        assert!(px.contains(&colour(1.0)));
        let png = c.encode_png().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sweep.png");
        write(&result, &path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), png);
    }
}
