//! `cv2.findContours(mask, RETR_TREE, CHAIN_APPROX_SIMPLE)` and `cv2.contourArea` of OpenCV 4.8.1.
//!
//! A port of OpenCV's Suzuki–Abe border following as `cv::findContours` runs it on an 8-bit image
//! in `RETR_TREE` mode: the mask is copied into a work image with a one-pixel frame of zeros (so
//! objects on the image border are traced through the border pixels themselves), every nonzero
//! pixel becomes 1, and a raster scan starts an outer border at each `0 -> 1` transition
//! (`prev == 0 && p == 1`) and a hole border at each `>= 1 -> 0` transition whose left pixel is
//! not marked as a right border. Foreground is 8-connected, background 4-connected. Traced
//! pixels are marked with a 7-bit label (`2, 3, ..., 127, 3, 4, ...`: the labels wrap after 125
//! contours), with the sign bit set where the tracer examined the pixel's east neighbour and found
//! it zero. A new contour's parent comes from the label of the last marked pixel to its left
//! (found through the per-label list, the bounding-rectangle test and OpenCV's `icvTraceContour`
//! check, all kept as OpenCV has them, so even label collisions resolve the same way).
//!
//! The output order is OpenCV's: contours are inserted at the front of their parent's child list
//! as they are found, and the tree is listed depth first (a contour, its children, then its next
//! sibling), which puts later-found contours first (the familiar bottom-to-top order).
//! Each contour is its `CHAIN_APPROX_SIMPLE` polygon: the pixels where the chain changes
//! direction (plus the start pixel when the chain does not turn there).

use super::MetricError;

/// A pixel position `[x, y]` (column, row), as OpenCV's `cv::Point`.
pub type Point = [i32; 2];

/// The contours of one mask in OpenCV's order, with the tree (`parent`) and hole flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contours {
    points: Vec<Point>,
    /// `starts[i]..starts[i + 1]` are contour i's points; `len() + 1` entries (or none).
    starts: Vec<usize>,
    parents: Vec<Option<usize>>,
    holes: Vec<bool>,
}

impl Contours {
    /// Number of contours (outer borders and holes).
    pub fn len(&self) -> usize {
        self.holes.len()
    }

    /// True when the mask had no foreground.
    pub fn is_empty(&self) -> bool {
        self.holes.is_empty()
    }

    /// The `CHAIN_APPROX_SIMPLE` polygon of contour `i` (never empty).
    pub fn points(&self, i: usize) -> &[Point] {
        &self.points[self.starts[i]..self.starts[i + 1]]
    }

    /// The index of contour `i`'s parent (OpenCV's `hierarchy[i][3]`), `None` at the top level.
    pub fn parent(&self, i: usize) -> Option<usize> {
        self.parents[i]
    }

    /// Whether contour `i` is a hole border (odd depth in the tree).
    pub fn is_hole(&self, i: usize) -> bool {
        self.holes[i]
    }

    /// `cv2.contourArea(contour_i)`: the polygon's unsigned shoelace area.
    pub fn area(&self, i: usize) -> f64 {
        contour_area(self.points(i))
    }

    fn clear(&mut self) {
        self.points.clear();
        self.starts.clear();
        self.parents.clear();
        self.holes.clear();
    }
}

/// `cv2.contourArea(points)` (not oriented): half the absolute shoelace sum over the polygon's
/// vertices, so a 1-px object has area 0 and a k x k square (k - 1)^2. Exact: the sum is an
/// integer below 2^53 for any image OpenCV accepts.
pub fn contour_area(points: &[Point]) -> f64 {
    let Some(&last) = points.last() else {
        return 0.0;
    };
    let mut prev = last;
    let mut twice: i64 = 0;
    for &p in points {
        twice += i64::from(prev[0]) * i64::from(p[1]) - i64::from(prev[1]) * i64::from(p[0]);
        prev = p;
    }
    (twice as f64 * 0.5).abs()
}

/// Where a contour hangs in the tree: under the frame (top level) or under a contour.
type Parent = Option<u32>;

/// OpenCV's `_CvContourInfo`: what the parent search needs of each traced contour.
#[derive(Debug, Clone, Copy)]
struct Info {
    /// Next contour with the same label (OpenCV's `cinfo_table` list, newest first).
    next_same_label: Option<u32>,
    parent: Parent,
    /// Bounding rectangle in work-image coordinates: x, y, width, height.
    rect: [i32; 4],
    /// Start pixel in work-image coordinates.
    origin: [usize; 2],
    is_hole: bool,
}

const NONE: u32 = u32::MAX;
/// Pixel steps to the 8 neighbours: 0 = east, then counter-clockwise (1 = north-east, 2 = north...).
const CODE_DELTAS: [Point; 8] = [
    [1, 0],
    [1, -1],
    [0, -1],
    [-1, -1],
    [-1, 0],
    [-1, 1],
    [0, 1],
    [1, 1],
];

/// Reusable state of [`ContourFinder::find`] (the framed work image and the contour table), so
/// repeated calls on same-sized masks do not allocate.
#[derive(Debug, Default, Clone)]
pub struct ContourFinder {
    img: Vec<i8>,
    infos: Vec<Info>,
    raw_points: Vec<Point>,
    raw_starts: Vec<usize>,
    first_child: Vec<u32>,
    next_sibling: Vec<u32>,
    order: Vec<u32>,
    out_index: Vec<u32>,
}

impl ContourFinder {
    /// A finder with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Finds the contours of `mask` (row-major `width x height`, nonzero = foreground) into `out`,
    /// exactly as `cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)` does.
    pub fn find(
        &mut self,
        mask: &[u8],
        width: usize,
        height: usize,
        out: &mut Contours,
    ) -> Result<(), MetricError> {
        super::check_mask(mask.len(), width, height)?;
        out.clear();
        self.infos.clear();
        self.raw_points.clear();
        self.raw_starts.clear();
        self.raw_starts.push(0);
        let step = width + 2;
        self.img.clear();
        self.img.resize(step * (height + 2), 0);
        for (y, row) in mask.chunks_exact(width.max(1)).take(height).enumerate() {
            let dst = &mut self.img[(y + 1) * step + 1..][..width];
            for (d, &s) in dst.iter_mut().zip(row) {
                *d = i8::from(s != 0);
            }
        }
        self.scan(width, height);
        self.emit(out);
        Ok(())
    }

    /// OpenCV's `cvFindNextContour` loop over the whole image (RETR_TREE, 8-bit labels).
    fn scan(&mut self, width: usize, height: usize) {
        let step = width + 2;
        let deltas = deltas(step);
        // scanned region of the framed image: x in 1..=width, y in 1..=height
        let (x_end, y_end) = (width + 1, height + 1);
        let mut table = [NONE; 128];
        let mut nbd: i32 = 2;
        for y in 1..y_end {
            let row = y * step;
            // last marked pixel met on this row ([0, y]: the frame)
            let mut lnbd = [0usize, y];
            let mut prev: i32 = 0;
            let mut x = 1;
            while x < x_end {
                let p = i32::from(self.img[row + x]);
                if p == prev {
                    x += 1;
                    continue;
                }
                let mut is_hole = false;
                if !(prev == 0 && p == 1) {
                    if p != 0 || prev < 1 {
                        // resume_scan
                        prev = p;
                        if prev & -2 != 0 {
                            lnbd[0] = x;
                        }
                        x += 1;
                        continue;
                    }
                    if prev & -2 != 0 {
                        lnbd[0] = x - 1;
                    }
                    is_hole = true;
                }
                let start = x - usize::from(is_hole);
                let parent = self.find_parent(&table, &deltas, lnbd, row, is_hole);
                lnbd[0] = start;
                let label = nbd;
                nbd = (nbd + 1) & 127;
                if nbd == 0 {
                    nbd = 3;
                }
                let rect = self.fetch(&deltas, row + start, [start, y], is_hole, label);
                let index = self.infos.len() as u32;
                self.infos.push(Info {
                    next_same_label: (table[label as usize] != NONE)
                        .then_some(table[label as usize]),
                    parent,
                    rect,
                    origin: [start, y],
                    is_hole,
                });
                table[label as usize] = index;
                // the scan resumes after x with prev = the (now marked) pixel at x
                prev = i32::from(self.img[row + x]);
                x += 1;
            }
        }
    }

    /// The parent search of `cvFindNextContour` (mode RETR_TREE).
    fn find_parent(
        &self,
        table: &[u32; 128],
        deltas: &[isize; 16],
        lnbd: [usize; 2],
        row: usize,
        is_hole: bool,
    ) -> Parent {
        if lnbd[0] == 0 {
            return None;
        }
        let step = deltas[6] as usize;
        let lval = (self.img[lnbd[1] * step + lnbd[0]] as u8 & 0x7f) as usize;
        let mut par: Option<u32> = None;
        let mut cur = table[lval];
        while cur != NONE {
            let info = &self.infos[cur as usize];
            let [rx, ry, rw, rh] = info.rect;
            let inside = ((lnbd[0] as i32 - rx) as u32) < rw as u32
                && ((lnbd[1] as i32 - ry) as u32) < rh as u32;
            if inside {
                if let Some(pi) = par {
                    let pinfo = &self.infos[pi as usize];
                    let origin = pinfo.origin[1] * step + pinfo.origin[0];
                    if trace_reaches(&self.img, deltas, origin, row + lnbd[0], pinfo.is_hole) {
                        break;
                    }
                }
                par = Some(cur);
            }
            cur = info.next_same_label.unwrap_or(NONE);
        }
        // OpenCV asserts that a labelled pixel has a bounding contour; it always does
        debug_assert!(
            par.is_some(),
            "no contour bounds the labelled pixel {lnbd:?}"
        );
        let found = par?;
        let info = &self.infos[found as usize];
        if info.is_hole == is_hole {
            info.parent
        } else {
            Some(found)
        }
    }

    /// `icvFetchContourEx` with `CHAIN_APPROX_SIMPLE`: traces one border from `i0`, marks it
    /// with `nbd` (sign bit for right borders), appends the polygon, returns its bounding rect
    /// in work-image coordinates.
    fn fetch(
        &mut self,
        deltas: &[isize; 16],
        i0: usize,
        origin: [usize; 2],
        is_hole: bool,
        nbd: i32,
    ) -> [i32; 4] {
        let img = &mut self.img;
        let mark_right = (nbd | 0x80) as u8 as i8;
        let mark = nbd as i8;
        // output coordinates: the frame offset (-1, -1)
        let mut pt: Point = [origin[0] as i32 - 1, origin[1] as i32 - 1];
        let (mut min, mut max) = (pt, pt);
        let s_end0: usize = if is_hole { 0 } else { 4 };
        let mut s = s_end0;
        let mut i1;
        loop {
            s = (s + 7) & 7;
            i1 = offset(i0, deltas[s]);
            if img[i1] != 0 || s == s_end0 {
                break;
            }
        }
        if s == s_end0 {
            img[i0] = mark_right;
            self.raw_points.push(pt);
        } else {
            let mut i3 = i0;
            let mut prev_s = s ^ 4;
            loop {
                let s_end = s;
                let mut i4 = i3;
                while s < 15 {
                    s += 1;
                    i4 = offset(i3, deltas[s]);
                    if img[i4] != 0 {
                        break;
                    }
                }
                s &= 7;
                if s.wrapping_sub(1) < s_end {
                    img[i3] = mark_right;
                } else if img[i3] == 1 {
                    img[i3] = mark;
                }
                if s != prev_s {
                    self.raw_points.push(pt);
                    if pt[0] < min[0] {
                        min[0] = pt[0];
                    } else if pt[0] > max[0] {
                        max[0] = pt[0];
                    }
                    if pt[1] < min[1] {
                        min[1] = pt[1];
                    } else if pt[1] > max[1] {
                        max[1] = pt[1];
                    }
                }
                prev_s = s;
                pt[0] += CODE_DELTAS[s][0];
                pt[1] += CODE_DELTAS[s][1];
                if i4 == i0 && i3 == i1 {
                    break;
                }
                i3 = i4;
                s = (s + 4) & 7;
            }
        }
        self.raw_starts.push(self.raw_points.len());
        // back to work-image coordinates (OpenCV subtracts the offset again)
        [
            min[0] + 1,
            min[1] + 1,
            max[0] - min[0] + 1,
            max[1] - min[1] + 1,
        ]
    }

    /// Builds OpenCV's tree (each contour prepended to its parent's children) and lists it
    /// depth first into `out`.
    fn emit(&mut self, out: &mut Contours) {
        let n = self.infos.len();
        // node n is the frame
        self.first_child.clear();
        self.first_child.resize(n + 1, NONE);
        self.next_sibling.clear();
        self.next_sibling.resize(n, NONE);
        for (i, info) in self.infos.iter().enumerate() {
            let parent = info.parent.map_or(n, |p| p as usize);
            self.next_sibling[i] = self.first_child[parent];
            self.first_child[parent] = i as u32;
        }
        self.order.clear();
        self.out_index.clear();
        self.out_index.resize(n, NONE);
        let mut node = self.first_child[n];
        while node != NONE {
            let i = node as usize;
            self.out_index[i] = self.order.len() as u32;
            self.order.push(node);
            if self.first_child[i] != NONE {
                node = self.first_child[i];
                continue;
            }
            // climb until a node has a next sibling (cvNextTreeNode)
            let mut up = i;
            loop {
                if self.next_sibling[up] != NONE {
                    node = self.next_sibling[up];
                    break;
                }
                match self.infos[up].parent {
                    Some(p) => up = p as usize,
                    None => {
                        node = NONE;
                        break;
                    }
                }
            }
        }
        out.starts.push(0);
        for &c in &self.order {
            let c = c as usize;
            let info = &self.infos[c];
            out.points
                .extend_from_slice(&self.raw_points[self.raw_starts[c]..self.raw_starts[c + 1]]);
            out.starts.push(out.points.len());
            out.parents
                .push(info.parent.map(|p| self.out_index[p as usize] as usize));
            out.holes.push(info.is_hole);
        }
    }
}

/// OpenCV's `CV_INIT_3X3_DELTAS`, repeated twice so a search may run past direction 7.
fn deltas(step: usize) -> [isize; 16] {
    let s = step as isize;
    let d = [1, 1 - s, -s, -s - 1, -1, s - 1, s, s + 1];
    let mut out = [0; 16];
    out[..8].copy_from_slice(&d);
    out[8..].copy_from_slice(&d);
    out
}

#[inline]
fn offset(i: usize, d: isize) -> usize {
    i.wrapping_add_signed(d)
}

/// OpenCV 4.8's `icvTraceContour`: follows the border that starts at `i0` and tells whether it
/// reaches `stop` as the last border a raster scan would meet there.
fn trace_reaches(img: &[i8], deltas: &[isize; 16], i0: usize, stop: usize, is_hole: bool) -> bool {
    let s_end = if is_hole { 0 } else { 4 };
    let mut s = s_end;
    let mut i1;
    loop {
        s = (s + 7) & 7;
        i1 = offset(i0, deltas[s]);
        if img[i1] != 0 || s == s_end {
            break;
        }
    }
    let mut i3 = i0;
    if s == s_end {
        return i3 == stop;
    }
    loop {
        let mut i4 = i3;
        while s < 15 {
            s += 1;
            i4 = offset(i3, deltas[s]);
            if img[i4] != 0 {
                break;
            }
        }
        if i3 == stop {
            if img[i3] as u8 & 0x80 == 0 {
                return true; // the only contour through this pixel
            }
            let mut t = s;
            loop {
                t = (t + 7) & 7;
                if img[offset(i3, deltas[t])] != 0 {
                    break;
                }
                if t == 0 {
                    return true;
                }
            }
        }
        if i4 == i0 && i3 == i1 {
            return false;
        }
        i3 = i4;
        s = (s + 4) & 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(mask: &[u8], w: usize, h: usize) -> Contours {
        let mut c = Contours::default();
        ContourFinder::new().find(mask, w, h, &mut c).unwrap();
        c
    }

    #[test]
    fn areas_of_pixels_and_squares() {
        assert_eq!(contour_area(&[[3, 4]]), 0.0);
        assert_eq!(contour_area(&[]), 0.0);
        for k in 1..6i32 {
            let w = 8usize;
            let mut m = vec![0u8; w * w];
            for y in 1..1 + k as usize {
                for x in 1..1 + k as usize {
                    m[y * w + x] = 255;
                }
            }
            let c = find(&m, w, w);
            assert_eq!(c.len(), 1);
            assert_eq!(c.area(0), f64::from((k - 1) * (k - 1)), "k = {k}");
            assert!(!c.is_hole(0));
        }
    }

    #[test]
    fn square_polygon_is_its_corners() {
        let mut m = vec![0u8; 5 * 5];
        for y in 1..4 {
            for x in 1..4 {
                m[y * 5 + x] = 1;
            }
        }
        let c = find(&m, 5, 5);
        assert_eq!(c.points(0), &[[1, 1], [1, 3], [3, 3], [3, 1]]);
    }

    #[test]
    fn ring_has_a_hole_child_and_border_objects_are_traced() {
        // a 4x4 ring on the image border with a 2x2 hole
        let mut m = vec![1u8; 16];
        m[5] = 0;
        m[6] = 0;
        m[9] = 0;
        m[10] = 0;
        let c = find(&m, 4, 4);
        assert_eq!(c.len(), 2);
        assert_eq!((c.parent(0), c.is_hole(0)), (None, false));
        assert_eq!((c.parent(1), c.is_hole(1)), (Some(0), true));
        assert_eq!(c.area(0), 9.0);
        // the hole border runs through the ring pixels 8-adjacent to the hole, cutting the
        // corners: a 3x3 square less four half-pixel triangles (cv2 gives 7.0)
        assert_eq!(c.area(1), 7.0);
        assert_eq!(
            c.points(1),
            &[
                [0, 1],
                [1, 0],
                [2, 0],
                [3, 1],
                [3, 2],
                [2, 3],
                [1, 3],
                [0, 2]
            ]
        );
    }

    #[test]
    fn later_found_contours_come_first() {
        let mut m = vec![0u8; 5 * 5];
        m[0] = 1; // row 0
        m[2 * 5 + 2] = 1; // row 2
        m[4 * 5 + 4] = 1; // row 4
        let c = find(&m, 5, 5);
        let firsts: Vec<Point> = (0..3).map(|i| c.points(i)[0]).collect();
        assert_eq!(firsts, vec![[4, 4], [2, 2], [0, 0]]);
    }

    #[test]
    fn empty_and_degenerate_sizes() {
        assert!(find(&[], 0, 0).is_empty());
        assert!(find(&[0; 6], 3, 2).is_empty());
        let c = find(&[7], 1, 1);
        assert_eq!((c.len(), c.points(0)), (1, &[[0, 0]][..]));
        let mut finder = ContourFinder::new();
        let mut out = Contours::default();
        assert!(finder.find(&[0; 5], 3, 2, &mut out).is_err());
    }
}
