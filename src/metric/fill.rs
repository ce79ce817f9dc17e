//! `cv2.drawContours(img, selected, -1, value, thickness=cv2.FILLED)` of OpenCV 4.8.1.
//!
//! With a negative thickness OpenCV collects the edges of *all* selected contours and fills them
//! in one scanline pass (`CollectPolyEdges` + `FillEdgeCollection`):
//! - every polygon segment, the closing one included, is first drawn as an 8-connected line, so
//!   the contour pixels themselves are always set (a 1-px contour becomes its pixel);
//! - the non-horizontal edges, each active on rows `y0..y1` (half-open), are then intersected
//!   with every row, the crossings sorted by x, and the pixels between crossings 1-2, 3-4, ...
//!   filled inclusively: the even-odd rule over all selected contours together. A hole contour
//!   drawn with its outer contour therefore stays a hole, and a hole whose contour is not
//!   selected is filled.
//!
//! Contour polygons from [`super::find_contours`] only have horizontal, vertical and 45° edges,
//! so OpenCV's 16.16 fixed-point edge walk is exact in integers here and the lines are the
//! segment's pixels; this module relies on that (it is private to contours from the tracer).

use super::find_contours::{Contours, Point};

/// One non-horizontal polygon edge: rows `y0..y1`, x at row `y0`, x step per row (-1, 0, 1).
#[derive(Debug, Clone, Copy)]
struct Edge {
    y0: i32,
    y1: i32,
    x: i32,
    dx: i32,
}

/// Reusable buffers of [`Filler::fill_into`].
#[derive(Debug, Default, Clone)]
pub struct Filler {
    edges: Vec<Edge>,
    active: Vec<Edge>,
}

impl Filler {
    /// A filler with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Draws the contours `selected` (indices into `contours`) filled with `value` on `out`
    /// (row-major `width x height`, drawn over what is there), as `cv2.drawContours(out,
    /// [contours[i] for i in selected], -1, value, cv2.FILLED)`. The order of `selected` does not
    /// matter.
    pub fn fill_into(
        &mut self,
        contours: &Contours,
        selected: &[usize],
        width: usize,
        height: usize,
        value: u8,
        out: &mut [u8],
    ) {
        debug_assert_eq!(out.len(), width * height);
        self.edges.clear();
        for &i in selected {
            let pts = contours.points(i);
            let mut p0 = pts[pts.len() - 1];
            for &p1 in pts {
                draw_segment(p0, p1, width, value, out);
                if p0[1] != p1[1] {
                    let (top, bottom) = if p0[1] < p1[1] { (p0, p1) } else { (p1, p0) };
                    let dy = bottom[1] - top[1];
                    self.edges.push(Edge {
                        y0: top[1],
                        y1: bottom[1],
                        x: top[0],
                        dx: (bottom[0] - top[0]) / dy,
                    });
                }
                p0 = p1;
            }
        }
        if self.edges.len() < 2 {
            return;
        }
        self.edges.sort_unstable_by_key(|e| e.y0);
        let y_max = self
            .edges
            .iter()
            .map(|e| e.y1)
            .max()
            .unwrap_or(0)
            .min(height as i32);
        self.active.clear();
        let mut next = 0;
        let mut y = self.edges[0].y0;
        while y < y_max {
            self.active.retain(|e| e.y1 != y);
            while next < self.edges.len() && self.edges[next].y0 == y {
                self.active.push(self.edges[next]);
                next += 1;
            }
            if self.active.is_empty() {
                match self.edges.get(next) {
                    Some(e) => {
                        y = e.y0;
                        continue;
                    }
                    None => break,
                }
            }
            insertion_sort_by_x(&mut self.active);
            let row = &mut out[y as usize * width..][..width];
            for pair in self.active.chunks_exact(2) {
                let (a, b) = (pair[0].x, pair[1].x);
                row[a as usize..=b as usize].fill(value);
            }
            for e in &mut self.active {
                e.x += e.dx;
            }
            y += 1;
        }
    }
}

/// The active list stays nearly sorted from row to row; OpenCV bubble-sorts it.
fn insertion_sort_by_x(v: &mut [Edge]) {
    for i in 1..v.len() {
        let e = v[i];
        let mut j = i;
        while j > 0 && v[j - 1].x > e.x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = e;
    }
}

/// OpenCV's 8-connected `Line` for a horizontal, vertical or 45° segment: its pixels, ends included.
fn draw_segment(p0: Point, p1: Point, width: usize, value: u8, out: &mut [u8]) {
    let (dx, dy) = (p1[0] - p0[0], p1[1] - p0[1]);
    debug_assert!(
        dx == 0 || dy == 0 || dx.abs() == dy.abs(),
        "contour segment {p0:?} -> {p1:?} is not a chain run"
    );
    let n = dx.abs().max(dy.abs());
    let (sx, sy) = (dx.signum(), dy.signum());
    let (mut x, mut y) = (p0[0], p0[1]);
    for _ in 0..=n {
        out[y as usize * width + x as usize] = value;
        x += sx;
        y += sy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::find_contours::ContourFinder;

    fn contours(mask: &[u8], w: usize, h: usize) -> Contours {
        let mut c = Contours::default();
        ContourFinder::new().find(mask, w, h, &mut c).unwrap();
        c
    }

    fn fill(mask: &[u8], w: usize, h: usize, keep: impl Fn(&Contours, usize) -> bool) -> Vec<u8> {
        let c = contours(mask, w, h);
        let sel: Vec<usize> = (0..c.len()).filter(|&i| keep(&c, i)).collect();
        let mut out = vec![0; w * h];
        Filler::new().fill_into(&c, &sel, w, h, 255, &mut out);
        out
    }

    #[test]
    fn all_contours_redraw_the_mask() {
        // blobs, a ring with a hole, a diagonal line, a 1-px object
        let (w, h) = (9, 7);
        #[rustfmt::skip]
        let m: Vec<u8> = vec![
            1, 1, 1, 1, 0, 0, 0, 0, 1,
            1, 0, 0, 1, 0, 1, 0, 0, 0,
            1, 0, 0, 1, 0, 0, 1, 0, 0,
            1, 1, 1, 1, 0, 0, 0, 1, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 1, 1, 1, 1, 1, 0, 1, 1,
            0, 1, 1, 1, 1, 1, 0, 1, 1,
        ];
        let out = fill(&m, w, h, |_, _| true);
        let want: Vec<u8> = m.iter().map(|&v| if v != 0 { 255 } else { 0 }).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn dropping_the_hole_contour_fills_the_hole() {
        let mut m = vec![1u8; 5 * 5];
        m[2 * 5 + 2] = 0;
        let out = fill(&m, 5, 5, |c, i| !c.is_hole(i));
        assert!(out.iter().all(|&v| v == 255));
        let out = fill(&m, 5, 5, |_, _| true);
        assert_eq!(out[2 * 5 + 2], 0);
    }
}
