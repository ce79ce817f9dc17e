//! `cv::remap` with float32 maps (`CV_32FC1` x and y) for 8-bit images.
//!
//! Bilinear: each map value is quantised to 1/32 px with round-half-even (`cvRound(v * 32)`),
//! then sampled by the fixed-point kernel. Nearest: `saturate_cast<short>(v)` (round half even).

use super::border::BorderMode;
#[cfg(target_arch = "x86_64")]
use super::kernel::simd;
use super::kernel::{
    fold_index, fold_row, linear_r101, nearest_r101, Columns, Coords, Geom, Lanes, Support,
};
use super::sampler::{
    linear_row_generic, nearest_row_generic, quantize32, round_to_i16, Interpolation,
};
use crate::augment::ImageU8;

/// `cv2.remap(src, map_x, map_y, interp, border)`; the output has the maps' size `width x height`.
///
/// # Panics
/// If the maps are not `width * height` long.
pub fn remap(
    src: &ImageU8,
    map_x: &[f32],
    map_y: &[f32],
    width: usize,
    height: usize,
    interp: Interpolation,
    border: BorderMode,
) -> ImageU8 {
    let mut dst = ImageU8::new(width, height);
    remap_into(src, map_x, map_y, interp, border, &mut dst);
    dst
}

/// [`remap`] into a preallocated destination whose size is the maps' size.
///
/// # Panics
/// If the maps are not `dst.width() * dst.height()` long.
pub fn remap_into(
    src: &ImageU8,
    map_x: &[f32],
    map_y: &[f32],
    interp: Interpolation,
    border: BorderMode,
    dst: &mut ImageU8,
) {
    let w = dst.width();
    assert_eq!(map_x.len(), w * dst.height(), "map_x size");
    assert_eq!(map_y.len(), w * dst.height(), "map_y size");
    let mut rows = RowSampler::new(src, interp, border);
    for y in 0..dst.height() {
        let mx = &map_x[y * w..(y + 1) * w];
        let my = &map_y[y * w..(y + 1) * w];
        rows.row(mx, my, dst.row_mut(y));
    }
}

/// Remaps row after row from one source image: the geometry, the mask support (nearest) and
/// the scratch arrays are set up once.
pub(crate) struct RowSampler<'a> {
    src: &'a ImageU8,
    interp: Interpolation,
    border: BorderMode,
    geom: Option<Geom>,
    support: Support,
    lanes: Box<Lanes>,
    xs: Vec<i32>,
    ys: Vec<i32>,
}

impl<'a> RowSampler<'a> {
    pub(crate) fn new(src: &'a ImageU8, interp: Interpolation, border: BorderMode) -> Self {
        let geom = Geom::for_image(src, border);
        let support = match (interp, geom) {
            (Interpolation::Nearest, Some(_)) => Support::of(src),
            _ => Support::ALL,
        };
        Self {
            src,
            interp,
            border,
            geom,
            support,
            lanes: Lanes::new(),
            xs: Vec::new(),
            ys: Vec::new(),
        }
    }

    /// One destination row of `cv2.remap` with float map rows `mx`, `my`.
    pub(crate) fn row(&mut self, mx: &[f32], my: &[f32], out: &mut [u8]) {
        assert!(
            mx.len() == out.len() && my.len() == out.len(),
            "map row lengths"
        );
        match self.interp {
            Interpolation::Linear => self.coords(&MapRow::<false> { mx, my }, out),
            Interpolation::Nearest => self.coords(&MapRow::<true> { mx, my }, out),
        }
    }

    /// One destination row from quantised coordinates (1/32 px for bilinear, i16-saturated
    /// indices for nearest, as OpenCV stores them).
    pub(crate) fn coords<C: Coords>(&mut self, c: &C, out: &mut [u8]) {
        if let Some(g) = self.geom {
            match self.interp {
                Interpolation::Linear => linear_r101(self.src, &g, c, out, &mut self.lanes),
                Interpolation::Nearest => {
                    nearest_r101(self.src, &g, &self.support, c, out, &mut self.lanes)
                }
            }
            return;
        }
        let n = out.len();
        self.xs.resize(n, 0);
        self.ys.resize(n, 0);
        for i in 0..n {
            (self.xs[i], self.ys[i]) = c.at(i);
        }
        match self.interp {
            Interpolation::Linear => {
                linear_row_generic(self.src, &self.xs, &self.ys, self.border, out)
            }
            Interpolation::Nearest => {
                nearest_row_generic(self.src, &self.xs, &self.ys, self.border, out)
            }
        }
    }
}

impl RowSampler<'_> {
    /// One destination row `v` of `cv2.remap(src, float32(u + dx), float32(v + dy))` with
    /// the displacement rows `dx`, `dy` (ElasticTransform). float32 `u + dx` is the same
    /// number as numpy's float64 sum rounded to float32 (`u` is an exact small integer).
    pub(crate) fn displace(&mut self, dx: &[f32], dy: &[f32], v: usize, out: &mut [u8]) {
        assert!(
            dx.len() == out.len() && dy.len() == out.len(),
            "field row lengths"
        );
        let v = v as f32;
        match self.interp {
            Interpolation::Linear => self.coords(&DisplaceRow::<false> { dx, dy, v }, out),
            Interpolation::Nearest => self.coords(&DisplaceRow::<true> { dx, dy, v }, out),
        }
    }
}

/// Row `v` of an elastic map: `map_x = u + dx[u]`, `map_y = v + dy[u]` (float32).
struct DisplaceRow<'a, const NEAREST: bool> {
    dx: &'a [f32],
    dy: &'a [f32],
    v: f32,
}

impl<const NEAREST: bool> Coords for DisplaceRow<'_, NEAREST> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.dx.len().min(self.dy.len())
    }

    #[inline(always)]
    fn at(&self, i: usize) -> (i32, i32) {
        let (mx, my) = (i as f32 + self.dx[i], self.v + self.dy[i]);
        if NEAREST {
            (round_to_i16(mx), round_to_i16(my))
        } else {
            (quantize32(mx), quantize32(my))
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn at8(&self, i: usize) -> (simd::V, simd::V) {
        use std::arch::x86_64::*;
        debug_assert!(i + 8 <= self.len());
        let s = _mm256_set1_ps(if NEAREST { 1.0 } else { 32.0 });
        let u = _mm256_add_epi32(
            _mm256_set1_epi32(i as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        let x = _mm256_add_ps(
            _mm256_cvtepi32_ps(u),
            _mm256_loadu_ps(self.dx.as_ptr().add(i)),
        );
        let y = _mm256_add_ps(
            _mm256_set1_ps(self.v),
            _mm256_loadu_ps(self.dy.as_ptr().add(i)),
        );
        (
            _mm256_cvtps_epi32(_mm256_mul_ps(x, s)),
            _mm256_cvtps_epi32(_mm256_mul_ps(y, s)),
        )
    }
}

/// Float map row: bilinear takes `cvRound(v * 32)`, nearest `saturate_cast<short>(v)`.
pub(crate) struct MapRow<'a, const NEAREST: bool> {
    pub mx: &'a [f32],
    pub my: &'a [f32],
}

impl<const NEAREST: bool> Coords for MapRow<'_, NEAREST> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.mx.len().min(self.my.len())
    }

    #[inline(always)]
    fn at(&self, i: usize) -> (i32, i32) {
        if NEAREST {
            (round_to_i16(self.mx[i]), round_to_i16(self.my[i]))
        } else {
            (quantize32(self.mx[i]), quantize32(self.my[i]))
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn at8(&self, i: usize) -> (simd::V, simd::V) {
        use std::arch::x86_64::*;
        debug_assert!(i + 8 <= self.len());
        let s = _mm256_set1_ps(if NEAREST { 1.0 } else { 32.0 });
        let x = _mm256_loadu_ps(self.mx.as_ptr().add(i));
        let y = _mm256_loadu_ps(self.my.as_ptr().add(i));
        (
            _mm256_cvtps_epi32(_mm256_mul_ps(x, s)),
            _mm256_cvtps_epi32(_mm256_mul_ps(y, s)),
        )
    }
}

/// remap with a separable map `map_x(u, v) = gx[u]`, `map_y(u, v) = gy[v]` (GridDistortion):
/// identical to [`remap_into`] on the full maps, but each coordinate is quantised (and, for
/// REFLECT_101, folded into the image) once.
///
/// # Panics
/// If `gx.len() != dst.width()` or `gy.len() != dst.height()`.
pub fn remap_separable_into(
    src: &ImageU8,
    gx: &[f32],
    gy: &[f32],
    interp: Interpolation,
    border: BorderMode,
    dst: &mut ImageU8,
) {
    assert_eq!(gx.len(), dst.width(), "gx length");
    assert_eq!(gy.len(), dst.height(), "gy length");
    let w = dst.width();
    let geom = Geom::for_image(src, border);
    let mut ys = vec![0i32; w];
    match interp {
        Interpolation::Linear => {
            let xs: Vec<i32> = gx.iter().map(|&v| quantize32(v)).collect();
            let cols = geom.and_then(|g| Columns::linear(&g, &xs).map(|c| (g, c)));
            let mut lanes = Lanes::new();
            for (y, &g) in gy.iter().enumerate() {
                let yq = quantize32(g);
                match cols.as_ref().and_then(|(g, c)| Some((c, fold_row(g, yq)?))) {
                    Some((c, (r, fy))) => c.linear_row(src, r, fy, dst.row_mut(y), &mut lanes),
                    None => {
                        ys.fill(yq);
                        linear_row_generic(src, &xs, &ys, border, dst.row_mut(y));
                    }
                }
            }
        }
        Interpolation::Nearest => {
            let xs: Vec<i32> = gx.iter().map(|&v| round_to_i16(v)).collect();
            let cols = geom.and_then(|g| Columns::nearest(&g, &xs).map(|c| (g, c)));
            // rows outside the nonzero rows of a mask give zero rows
            let rows = cols.as_ref().map(|_| Support::of(src));
            for (y, &g) in gy.iter().enumerate() {
                let yi = round_to_i16(g);
                let folded = cols
                    .as_ref()
                    .and_then(|(g, c)| Some((c, fold_index(g, yi, true)?)));
                match (folded, &rows) {
                    (Some((c, r)), Some(sup)) => {
                        if sup.has_row(r) {
                            c.nearest_row(src, r, dst.row_mut(y));
                        } else {
                            dst.row_mut(y).fill(0);
                        }
                    }
                    _ => {
                        ys.fill(yi);
                        nearest_row_generic(src, &xs, &ys, border, dst.row_mut(y));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_map_is_a_copy() {
        let src = ImageU8::from_fn(5, 4, |x, y| (x * 40 + y) as u8);
        let mx: Vec<f32> = (0..20).map(|i| (i % 5) as f32).collect();
        let my: Vec<f32> = (0..20).map(|i| (i / 5) as f32).collect();
        for interp in [Interpolation::Linear, Interpolation::Nearest] {
            assert_eq!(
                remap(&src, &mx, &my, 5, 4, interp, BorderMode::Reflect101),
                src
            );
        }
    }

    #[test]
    fn separable_equals_full_maps() {
        let src = ImageU8::from_fn(9, 7, |x, y| (x * 29 + y * 17) as u8);
        let gx: Vec<f32> = (0..9).map(|u| u as f32 * 1.13 - 0.7).collect();
        let gy: Vec<f32> = (0..7).map(|v| v as f32 * 0.91 + 0.33).collect();
        let mx: Vec<f32> = (0..63).map(|i| gx[i % 9]).collect();
        let my: Vec<f32> = (0..63).map(|i| gy[i / 9]).collect();
        for interp in [Interpolation::Linear, Interpolation::Nearest] {
            let mut a = ImageU8::new(9, 7);
            remap_separable_into(&src, &gx, &gy, interp, BorderMode::Reflect101, &mut a);
            assert_eq!(
                a,
                remap(&src, &mx, &my, 9, 7, interp, BorderMode::Reflect101)
            );
        }
    }

    #[test]
    fn nearest_rounds_half_to_even() {
        let src = ImageU8::from_vec(4, 1, vec![0, 1, 2, 3]).unwrap();
        let out = remap(
            &src,
            &[0.5, 1.5, 2.5, -0.5],
            &[0.0; 4],
            4,
            1,
            Interpolation::Nearest,
            BorderMode::Reflect101,
        );
        assert_eq!(out.data(), &[0, 2, 2, 0]);
    }
}
