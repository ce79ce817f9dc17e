//! The solution's contour post-processing: `remove_smallest` and `extract_largest`.
//!
//! Both are TripletSubmit.py's functions on OpenCV 4.8.1, reproduced pixel for pixel:
//!
//! ```python
//! contours, _ = cv2.findContours(mask.copy(), cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
//! # remove_smallest(mask, A): keep contours with contourArea > A
//! contours = [c for c in contours if cv2.contourArea(c) > min_contour_area]
//! # extract_largest(mask, n): the n largest, in numpy's argsort order
//! contours = np.array(contours)[np.argsort(areas)[::-1]][:n_objects]
//! cv2.drawContours(np.zeros(mask.shape, np.uint8), contours, -1, 255, thickness=cv2.FILLED)
//! ```
//!
//! - Contours are outer borders *and* hole borders (RETR_TREE); areas are polygon areas through
//!   the boundary pixel centres (a 1-px object has area 0, a k x k square (k - 1)^2).
//! - The kept contours are filled together with the even-odd rule (see [`super::fill`]): a kept
//!   hole stays a hole, a dropped hole is filled, and a component whose outer contour is dropped
//!   disappears even when it sits in a kept component's hole.
//! - `extract_largest` ties: numpy's unstable `argsort` (see [`super::np_argsort`]) reversed,
//!   exactly as the solution ran it; up to 16 contours this keeps the later contour (in OpenCV's
//!   order) of two with equal area.
//!
//! Outputs are 0/255. [`PostProcessor`] keeps every buffer between calls; the free functions
//! allocate a fresh one.

use super::fill::Filler;
use super::find_contours::{ContourFinder, Contours};
use super::np_argsort::argsort_into;
use super::{check_mask, MetricError, FG};

/// Reusable buffers for [`remove_smallest`] / [`extract_largest`] (contour tracing, areas,
/// ordering, filling): repeated calls on same-sized masks do not allocate.
///
/// For sweeps, [`PostProcessor::trace`] a mask once and draw it for many settings with
/// [`PostProcessor::draw_area_above_into`] / [`PostProcessor::draw_largest_into`] (the area
/// order is computed once per traced mask).
#[derive(Debug, Default, Clone)]
pub struct PostProcessor {
    finder: ContourFinder,
    contours: Contours,
    filler: Filler,
    areas: Vec<f64>,
    /// `np.argsort(areas)`, valid when `sorted`.
    order: Vec<usize>,
    sorted: bool,
    selected: Vec<usize>,
    size: (usize, usize),
}

impl PostProcessor {
    /// A post-processor with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Traces the contours of `mask` (row-major `width x height`, nonzero = foreground) and their
    /// areas, for the `draw_*` calls that follow.
    pub fn trace(&mut self, mask: &[u8], width: usize, height: usize) -> Result<(), MetricError> {
        self.finder.find(mask, width, height, &mut self.contours)?;
        self.areas.clear();
        self.areas
            .extend((0..self.contours.len()).map(|i| self.contours.area(i)));
        self.sorted = false;
        self.size = (width, height);
        Ok(())
    }

    /// The contours of the last traced mask.
    pub fn contours(&self) -> &Contours {
        &self.contours
    }

    /// `cv2.contourArea` of each contour of the last traced mask, in contour order.
    pub fn areas(&self) -> &[f64] {
        &self.areas
    }

    /// Draws the last traced mask's contours with area `> min_area` filled with 255 on zeros
    /// into `out` (`remove_smallest`'s drawing).
    pub fn draw_area_above_into(
        &mut self,
        min_area: f64,
        out: &mut [u8],
    ) -> Result<(), MetricError> {
        self.selected.clear();
        let areas = &self.areas;
        self.selected
            .extend((0..areas.len()).filter(|&i| areas[i] > min_area));
        self.draw(out)
    }

    /// Draws the last traced mask's `n_objects` largest contours (all when fewer, numpy's tie
    /// order) filled with 255 on zeros into `out` (`extract_largest`'s drawing).
    pub fn draw_largest_into(
        &mut self,
        n_objects: usize,
        out: &mut [u8],
    ) -> Result<(), MetricError> {
        if !self.sorted {
            argsort_into(&self.areas, &mut self.order);
            self.sorted = true;
        }
        self.selected.clear();
        self.selected
            .extend(self.order.iter().rev().take(n_objects).copied());
        self.draw(out)
    }

    /// `remove_smallest(mask, min_area)` into `out`: the contours with area `> min_area`, filled
    /// with 255 on zeros.
    pub fn remove_smallest_into(
        &mut self,
        mask: &[u8],
        width: usize,
        height: usize,
        min_area: f64,
        out: &mut [u8],
    ) -> Result<(), MetricError> {
        check_mask(out.len(), width, height)?;
        self.trace(mask, width, height)?;
        self.draw_area_above_into(min_area, out)
    }

    /// `extract_largest(mask, n_objects)` into `out`: the `n_objects` largest contours (all when
    /// fewer), filled with 255 on zeros.
    pub fn extract_largest_into(
        &mut self,
        mask: &[u8],
        width: usize,
        height: usize,
        n_objects: usize,
        out: &mut [u8],
    ) -> Result<(), MetricError> {
        check_mask(out.len(), width, height)?;
        self.trace(mask, width, height)?;
        self.draw_largest_into(n_objects, out)
    }

    fn draw(&mut self, out: &mut [u8]) -> Result<(), MetricError> {
        let (width, height) = self.size;
        check_mask(out.len(), width, height)?;
        out.fill(0);
        self.filler
            .fill_into(&self.contours, &self.selected, width, height, FG, out);
        Ok(())
    }
}

/// TripletSubmit.py's `remove_smallest(mask, min_contour_area)` (see the module doc).
pub fn remove_smallest(
    mask: &[u8],
    width: usize,
    height: usize,
    min_area: f64,
) -> Result<Vec<u8>, MetricError> {
    let mut out = vec![0; mask.len()];
    PostProcessor::new().remove_smallest_into(mask, width, height, min_area, &mut out)?;
    Ok(out)
}

/// TripletSubmit.py's `extract_largest(mask, n_objects)` (see the module doc).
pub fn extract_largest(
    mask: &[u8],
    width: usize,
    height: usize,
    n_objects: usize,
) -> Result<Vec<u8>, MetricError> {
    let mut out = vec![0; mask.len()];
    PostProcessor::new().extract_largest_into(mask, width, height, n_objects, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses rows of '#' (foreground) and '.' into a mask.
    fn mask(rows: &[&str]) -> (Vec<u8>, usize, usize) {
        let w = rows[0].len();
        let m = rows
            .iter()
            .flat_map(|r| r.bytes().map(|b| if b == b'#' { 1 } else { 0 }))
            .collect();
        (m, w, rows.len())
    }

    fn show(m: &[u8], w: usize) -> Vec<String> {
        m.chunks(w)
            .map(|r| r.iter().map(|&v| if v != 0 { '#' } else { '.' }).collect())
            .collect()
    }

    #[test]
    fn remove_smallest_thresholds_are_strict() {
        // areas: 1-px dot 0, 2x2 square 1, 3x3 square 4
        let (m, w, h) = mask(&["#.##.###", "..##.###", ".....###"]);
        let keep = |a| show(&remove_smallest(&m, w, h, a).unwrap(), w);
        assert_eq!(keep(-1.0), show(&m, w));
        assert_eq!(keep(0.0), ["..##.###", "..##.###", ".....###"]);
        assert_eq!(keep(1.0), [".....###", ".....###", ".....###"]);
        assert_eq!(keep(4.0), ["........", "........", "........"]);
    }

    #[test]
    fn small_hole_is_filled_and_object_in_a_hole_goes_with_its_contour() {
        let (m, w, h) = mask(&[
            "#######", //
            "#.....#", //
            "#.###.#", //
            "#.#.#.#", //
            "#.###.#", //
            "#.....#", //
            "#######",
        ]);
        // areas (as cv2 gives them): outer 36, its hole 34, inner ring 4, its 1-px hole 2
        let out = show(&remove_smallest(&m, w, h, 3.0).unwrap(), w);
        assert_eq!(
            out,
            ["#######", "#.....#", "#.###.#", "#.###.#", "#.###.#", "#.....#", "#######"]
        );
        let out = show(&remove_smallest(&m, w, h, 4.0).unwrap(), w);
        assert_eq!(
            out,
            ["#######", "#.....#", "#.....#", "#.....#", "#.....#", "#.....#", "#######"]
        );
        // only the outer contour: the whole square, holes and islands included
        let out = show(&extract_largest(&m, w, h, 1).unwrap(), w);
        assert!(out.iter().all(|r| r == "#######"));
    }

    #[test]
    fn extract_largest_counts_holes_as_contours() {
        let (m, w, h) = mask(&["####..#", "#..#...", "####..#"]);
        // contours in OpenCV's order: lower dot 0, upper dot 0, outer 6, hole 4
        let out = show(&extract_largest(&m, w, h, 2).unwrap(), w);
        assert_eq!(out, ["####...", "#..#...", "####..."]);
        let out = show(&extract_largest(&m, w, h, 0).unwrap(), w);
        assert!(out.iter().all(|r| r == "......."));
        // equal areas (two dots): the later contour in OpenCV's order wins, i.e. the upper dot
        let out = show(&extract_largest(&m, w, h, 3).unwrap(), w);
        assert_eq!(out, ["####..#", "#..#...", "####..."]);
        let out = show(&extract_largest(&m, w, h, 9).unwrap(), w);
        assert_eq!(out, show(&m, w));
    }

    #[test]
    fn reuse_and_errors() {
        let mut pp = PostProcessor::new();
        // the corner pixel touches the square diagonally: one 8-connected component
        let (m, w, h) = mask(&["##.", "##.", "..#"]);
        let mut out = vec![7; w * h];
        pp.remove_smallest_into(&m, w, h, 0.5, &mut out).unwrap();
        assert_eq!(show(&out, w), ["##.", "##.", "..#"]);
        assert_eq!(pp.contours().len(), 1);
        let (m, w, h) = mask(&["##..", "##..", "...#"]);
        let mut out = vec![7; w * h];
        pp.remove_smallest_into(&m, w, h, 0.5, &mut out).unwrap();
        assert_eq!(show(&out, w), ["##..", "##..", "...."]);
        assert_eq!(pp.contours().len(), 2);
        pp.extract_largest_into(&m, w, h, 1, &mut out).unwrap();
        assert_eq!(show(&out, w), ["##..", "##..", "...."]);
        assert!(pp
            .remove_smallest_into(&m, w, h, 0.0, &mut out[1..])
            .is_err());
        assert!(remove_smallest(&m, 2, 2, 0.0).is_err());
    }
}
