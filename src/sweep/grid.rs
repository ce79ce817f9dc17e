//! The sweep grid: the configurations `(top, area, bottom, min_contour_area)` a sweep scores,
//! read from a TOML file, and [`Plan`]: the grid resolved for one prediction set's size.
//!
//! ```toml
//! top = [0.6, 0.7, 0.75]            # gate thresholds: count(p > top) ...
//! area = [600, 800, 1000, 2000]     # ... >= area pixels, else the image is empty
//! bottom = [0.3, 0.4]               # mask threshold of a positive image: p > bottom
//! min_contour_area = [0, 100]       # optional, default [0]: remove_smallest(mask, A) when A > 0
//! eps = 1e-6                        # optional, default metric::DEFAULT_EPS
//! area_resolution = 1024            # optional: the resolution `area` and `min_contour_area` are
//!                                   # expressed at
//! ```
//!
//! The configurations are the product of the four lists, in the order
//! `index = ((t · |area| + a) · |bottom| + b) · |min_contour_area| + m`.
//!
//! With `area_resolution = R`, a set of size `S` scales as training's validation does
//! (`src/train/validation.rs`): the gate area becomes `round(area · (S/R)²)` pixels, and a min
//! contour area `A · (S/R)²` (not rounded: contour areas are polygon areas, multiples of 1/2).
//! Without it, both are taken as they are, at every set's own size. Thresholds compare as the
//! set's encoding says ([`crate::data::prob_map`]): on u8 maps a pixel is above `t` iff
//! `q / 255 > t`, i.e. `q >= u8_cutoff(t)`; on f16 maps iff `f32(h) > t as f32`. A min contour
//! area of 0 means "no filtering", as in TripletSubmit.py (`if MIN_CONTOUR_AREA > 0:
//! remove_smallest`).

use super::SweepError;
use crate::data::prob_map::MapEncoding;
use crate::metric::DEFAULT_EPS;
use serde::Deserialize;
use std::path::Path;

/// A sweep grid: four value lists (their product is the set of configurations), `eps`, and the
/// resolution the areas are expressed at.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// Gate thresholds, in file order.
    pub top: Vec<f64>,
    /// Gate areas (pixels at `area_resolution`).
    pub area: Vec<u64>,
    /// Mask thresholds.
    pub bottom: Vec<f64>,
    /// Minimum contour areas (0 = no filtering).
    pub min_contour_area: Vec<f64>,
    /// Dice `eps`.
    pub eps: f64,
    /// The resolution `area` and `min_contour_area` are expressed at (`None`: pixels at each
    /// set's own size).
    pub area_resolution: Option<u32>,
}

/// One configuration, as written in the grid (areas unscaled).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Gate threshold.
    pub top: f64,
    /// Gate area.
    pub area: u64,
    /// Mask threshold.
    pub bottom: f64,
    /// Minimum contour area (0 = no filtering).
    pub min_contour_area: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GridFile {
    top: Vec<f64>,
    area: Vec<u64>,
    bottom: Vec<f64>,
    #[serde(default = "no_filter")]
    min_contour_area: Vec<f64>,
    eps: Option<f64>,
    area_resolution: Option<u32>,
}

fn no_filter() -> Vec<f64> {
    vec![0.0]
}

impl Grid {
    /// Reads and checks a grid file.
    pub fn load(path: &Path) -> Result<Grid, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|source| SweepError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Grid::from_toml_str(&text, &path.display().to_string())
    }

    /// [`Grid::load`] from text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Grid, SweepError> {
        let value: toml::Value = toml::from_str(text).map_err(|e| SweepError::GridToml {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let file: GridFile = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            let message = message.lines().next().unwrap_or_default().trim_end();
            let field = ["unknown field `", "missing field `"]
                .iter()
                .find_map(|p| message.strip_prefix(p))
                .and_then(|m| m.split('`').next());
            let key = match field {
                Some(field) => field.to_string(),
                None => path,
            };
            SweepError::GridKey {
                origin: origin.to_string(),
                key,
                problem: message.to_string(),
            }
        })?;
        let grid = Grid {
            top: file.top,
            area: file.area,
            bottom: file.bottom,
            min_contour_area: file.min_contour_area,
            eps: file.eps.unwrap_or(DEFAULT_EPS),
            area_resolution: file.area_resolution,
        };
        grid.validate(origin)?;
        Ok(grid)
    }

    /// Checks the values: non-empty lists without repeats, thresholds in `[0, 1]`, finite
    /// non-negative min contour areas, `eps > 0`, `area_resolution > 0`, at most
    /// [`MAX_CONFIGS`] configurations. `origin` names the grid in errors.
    pub fn validate(&self, origin: &str) -> Result<(), SweepError> {
        let bad = |key: String, problem: String| SweepError::GridKey {
            origin: origin.to_string(),
            key,
            problem,
        };
        let lists: [(&str, Vec<f64>); 4] = [
            ("top", self.top.clone()),
            ("area", self.area.iter().map(|&a| a as f64).collect()),
            ("bottom", self.bottom.clone()),
            ("min_contour_area", self.min_contour_area.clone()),
        ];
        for (key, values) in &lists {
            if values.is_empty() {
                return Err(bad(key.to_string(), "must list at least one value".into()));
            }
            for (i, &v) in values.iter().enumerate() {
                let in_range = match *key {
                    "top" | "bottom" => (0.0..=1.0).contains(&v),
                    _ => v.is_finite() && v >= 0.0,
                };
                if !in_range {
                    let range = if matches!(*key, "top" | "bottom") {
                        "must be in [0, 1]"
                    } else {
                        "must be a finite number >= 0"
                    };
                    return Err(bad(format!("{key}[{i}]"), format!("{v} {range}")));
                }
                if let Some(j) = values[..i].iter().position(|&w| w == v) {
                    return Err(bad(
                        format!("{key}[{i}]"),
                        format!("{v} repeats {key}[{j}]; list each value once"),
                    ));
                }
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(bad(
                "eps".into(),
                format!("{} must be a finite number > 0", self.eps),
            ));
        }
        if self.area_resolution == Some(0) {
            return Err(bad("area_resolution".into(), "0 must be > 0".into()));
        }
        let n = self.top.len() as u128
            * self.area.len() as u128
            * self.bottom.len() as u128
            * self.min_contour_area.len() as u128;
        if n > MAX_CONFIGS as u128 {
            return Err(bad(
                "top".into(),
                format!("the grid has {n} configurations; at most {MAX_CONFIGS} are allowed"),
            ));
        }
        Ok(())
    }

    /// Number of configurations.
    pub fn len(&self) -> usize {
        self.top.len() * self.area.len() * self.bottom.len() * self.min_contour_area.len()
    }

    /// Whether the grid has no configuration (never true for a validated grid).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Configuration `index` (see the module doc for the order).
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn config(&self, index: usize) -> Config {
        assert!(
            index < self.len(),
            "configuration {index} of {}",
            self.len()
        );
        let m = index % self.min_contour_area.len();
        let rest = index / self.min_contour_area.len();
        let b = rest % self.bottom.len();
        let rest = rest / self.bottom.len();
        let a = rest % self.area.len();
        let t = rest / self.area.len();
        Config {
            top: self.top[t],
            area: self.area[a],
            bottom: self.bottom[b],
            min_contour_area: self.min_contour_area[m],
        }
    }

    /// Index of the configuration with these list positions.
    pub fn index(&self, t: usize, a: usize, b: usize, m: usize) -> usize {
        ((t * self.area.len() + a) * self.bottom.len() + b) * self.min_contour_area.len() + m
    }

    /// The factor areas are multiplied by at `size`: `(size / area_resolution)²`, or 1.
    pub fn area_scale(&self, size: u32) -> f64 {
        match self.area_resolution {
            Some(r) => (f64::from(size) / f64::from(r)).powi(2),
            None => 1.0,
        }
    }

    /// The grid resolved for `size` x `size` u8 maps.
    pub fn plan(&self, size: u32) -> Plan {
        self.plan_for(size, MapEncoding::U8)
    }

    /// The grid resolved for `size` x `size` maps stored as `encoding`.
    pub fn plan_for(&self, size: u32, encoding: MapEncoding) -> Plan {
        let scale = self.area_scale(size);
        Plan {
            size,
            encoding,
            top_cut: self.top.iter().map(|&t| encoding.cutoff(t)).collect(),
            area_px: self
                .area
                .iter()
                .map(|&a| (a as f64 * scale).round() as u64)
                .collect(),
            bottom_cut: self.bottom.iter().map(|&t| encoding.cutoff(t)).collect(),
            min_area_px: self.min_contour_area.iter().map(|&a| a * scale).collect(),
            eps: self.eps,
        }
    }
}

/// Most configurations a grid may have (a sweep keeps a 16-byte sum per configuration, fold and
/// set).
pub const MAX_CONFIGS: usize = 1 << 22;

/// A grid resolved for one map size and encoding: integer cutoffs and scaled areas, in grid
/// order.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Map side.
    pub size: u32,
    /// How the maps are stored (what the cutoffs are codes of).
    pub encoding: MapEncoding,
    /// `encoding.cutoff(top)` per top: a pixel counts for the gate iff its code `>= cutoff`.
    pub top_cut: Vec<u32>,
    /// Gate areas in pixels at this size.
    pub area_px: Vec<u64>,
    /// `encoding.cutoff(bottom)` per bottom.
    pub bottom_cut: Vec<u32>,
    /// Min contour areas at this size (0 = no filtering).
    pub min_area_px: Vec<f64>,
    /// Dice `eps`.
    pub eps: f64,
}

impl Plan {
    /// Number of configurations.
    pub fn len(&self) -> usize {
        self.top_cut.len() * self.area_px.len() * self.bottom_cut.len() * self.min_area_px.len()
    }

    /// Whether the plan has no configuration.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some configuration filters contours.
    pub fn filters_contours(&self) -> bool {
        self.min_area_px.iter().any(|&a| a > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Grid::from_toml_str(text, "g.toml").unwrap_err().to_string()
    }

    #[test]
    fn reads_a_grid_with_defaults_and_orders_configurations() {
        let g = Grid::from_toml_str(
            "top = [0.7, 0.75]\narea = [600, 800, 1000]\nbottom = [0.3]\n",
            "g",
        )
        .unwrap();
        assert_eq!(g.min_contour_area, [0.0]);
        assert_eq!(g.eps, DEFAULT_EPS);
        assert_eq!(g.area_resolution, None);
        assert_eq!(g.len(), 6);
        assert_eq!(
            g.config(4),
            Config {
                top: 0.75,
                area: 800,
                bottom: 0.3,
                min_contour_area: 0.0
            }
        );
        assert_eq!(g.index(1, 1, 0, 0), 4);
        let g = Grid::from_toml_str(
            "top = [0.5]\narea = [1000, 2000]\nbottom = [0.3, 0.4]\nmin_contour_area = [0, 100.5]\neps = 1e-4\narea_resolution = 1024\n",
            "g",
        )
        .unwrap();
        for i in 0..g.len() {
            let c = g.config(i);
            let a = g.area.iter().position(|&v| v == c.area).unwrap();
            let b = g.bottom.iter().position(|&v| v == c.bottom).unwrap();
            let m = g
                .min_contour_area
                .iter()
                .position(|&v| v == c.min_contour_area);
            assert_eq!(g.index(0, a, b, m.unwrap()), i);
        }
        let plan = g.plan(512);
        assert_eq!(plan.area_px, [250, 500]);
        assert_eq!(plan.min_area_px, [0.0, 25.125]);
        assert_eq!(plan.top_cut, [128]);
        assert_eq!(plan.bottom_cut, [77, 103]);
        assert!(plan.filters_contours());
        assert_eq!(g.plan(1024).area_px, [1000, 2000]);
        // rounding as training does: round(area * (size/R)^2)
        assert_eq!(g.plan(100).area_px, [10, 19]);
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let e = err("top = [0.7]\narea = [1]\nbottom = [0.3]\nbotom = [1]\n");
        assert!(e.starts_with("g.toml: botom:"), "{e}");
        assert!(e.contains("unknown field"), "{e}");
        let e = err("top = [0.7]\nbottom = [0.3]\n");
        assert_eq!(e, "g.toml: area: missing field `area`");
        let e = err("top = [0.7, 1.5]\narea = [1]\nbottom = [0.3]\n");
        assert_eq!(e, "g.toml: top[1]: 1.5 must be in [0, 1]");
        let e = err("top = [0.7]\narea = [1, 1]\nbottom = [0.3]\n");
        assert_eq!(
            e,
            "g.toml: area[1]: 1 repeats area[0]; list each value once"
        );
        let e = err("top = [0.7]\narea = [-1]\nbottom = [0.3]\n");
        assert!(e.starts_with("g.toml: area[0]:"), "{e}");
        let e = err("top = [0.7]\narea = [1]\nbottom = []\n");
        assert_eq!(e, "g.toml: bottom: must list at least one value");
        let e = err("top = [0.7]\narea = [1]\nbottom = [0.3]\nmin_contour_area = [-2]\n");
        assert_eq!(
            e,
            "g.toml: min_contour_area[0]: -2 must be a finite number >= 0"
        );
        let e = err("top = [0.7]\narea = [1]\nbottom = [0.3]\neps = 0\n");
        assert_eq!(e, "g.toml: eps: 0 must be a finite number > 0");
        let e = err("top = [0.7]\narea = [1]\nbottom = [0.3]\narea_resolution = 0\n");
        assert_eq!(e, "g.toml: area_resolution: 0 must be > 0");
        let e = err("top = [0.7]\narea = [1]\nbottom = \"x\"\n");
        assert!(e.starts_with("g.toml: bottom:"), "{e}");
        let e = err("top = [0.7\n");
        assert!(e.starts_with("g.toml: invalid TOML:"), "{e}");
        let e = Grid::load(Path::new("/nonexistent/grid.toml")).unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/grid.toml: "), "{e}");
    }
}
