//! A sweep's results: Dice sums per (set, fold, configuration), the best configurations, the
//! `sweep.csv` table, and the single-threaded sweep (the dataflow graph in
//! `crate::dataflow::sweep` computes the same sums on many workers).

use super::grid::Grid;
use super::store::{PredictionSet, Reader};
use super::sums::DiceSums;
use super::SweepError;
use data_prep::folds::Fold;
use std::fmt::Write as _;
use std::path::Path;

/// The results of one prediction set.
#[derive(Clone, Debug, PartialEq)]
pub struct SetResult {
    /// The set's name.
    pub name: String,
    /// Its map side.
    pub size: u32,
    /// Dice sums per fold, in fold order.
    pub folds: Vec<(Fold, DiceSums)>,
}

/// The results of a sweep: the grid and every set's results, in store order.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepResult {
    /// The grid swept.
    pub grid: Grid,
    /// One entry per prediction set.
    pub sets: Vec<SetResult>,
}

/// The columns of `sweep.csv`.
pub const CSV_HEADER: &str = "set,fold,top,area,bottom,min_contour_area,images,dice";

impl SetResult {
    /// Empty results of `set`.
    pub fn new(set: &PredictionSet) -> SetResult {
        SetResult {
            name: set.name().to_string(),
            size: set.size(),
            folds: Vec::new(),
        }
    }

    /// Adds partial sums of `fold`.
    pub fn add(&mut self, fold: Fold, sums: &DiceSums) {
        match self.folds.binary_search_by_key(&fold, |(f, _)| *f) {
            Ok(k) => self.folds[k].1.merge(sums),
            Err(k) => self.folds.insert(k, (fold, sums.clone())),
        }
    }

    /// The sums over every fold.
    pub fn overall(&self) -> DiceSums {
        let mut all = DiceSums::new(self.folds.first().map_or(0, |(_, s)| s.configs()));
        for (_, s) in &self.folds {
            all.merge(s);
        }
        all
    }

    /// The `n` best configurations by overall mean Dice, as (configuration index, mean), best
    /// first; equal means keep grid order (the first configuration wins, as the reference's
    /// strictly-greater search).
    pub fn best(&self, n: usize) -> Vec<(usize, f64)> {
        let all = self.overall();
        let mut v: Vec<(usize, f64)> = (0..all.configs())
            .filter_map(|i| all.mean(i).map(|m| (i, m)))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// A CSV field: quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl SweepResult {
    /// `sweep.csv`: [`CSV_HEADER`], then per set, per fold (in fold order, then `all`), per
    /// configuration (grid order) one row; areas as written in the grid; Dice as the shortest
    /// decimal that reads back to the same f64.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        out.push_str(CSV_HEADER);
        out.push('\n');
        for set in &self.sets {
            let name = csv_field(&set.name);
            let overall = set.overall();
            let folds = set.folds.iter().map(|(f, s)| (f.label(), s));
            for (fold, sums) in folds.chain(std::iter::once(("all".to_string(), &overall))) {
                for i in 0..self.grid.len() {
                    let c = self.grid.config(i);
                    let dice = sums.mean(i).map(|d| d.to_string()).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "{name},{},{},{},{},{},{},{dice}",
                        csv_field(&fold),
                        c.top,
                        c.area,
                        c.bottom,
                        c.min_contour_area,
                        sums.images()
                    );
                }
            }
        }
        out
    }

    /// Writes [`SweepResult::to_csv`] to `path` atomically.
    pub fn write_csv(&self, path: &Path) -> Result<(), SweepError> {
        data_prep::atomic::write_bytes_atomic(path, self.to_csv().as_bytes()).map_err(|source| {
            SweepError::Io {
                path: path.to_path_buf(),
                source,
            }
        })
    }
}

/// Sweeps `sets` over `grid` on this thread (the reference for the dataflow graph);
/// `progress(images)` after each image.
pub fn sweep_serial(
    sets: &[PredictionSet],
    grid: &Grid,
    mut progress: impl FnMut(u64),
) -> Result<SweepResult, SweepError> {
    let mut reader = Reader::new();
    let mut out = Vec::with_capacity(sets.len());
    for set in sets {
        let plan = grid.plan_for(set.size(), set.encoding());
        let mut result = SetResult::new(set);
        for index in 0..set.len() {
            for (fold, sums) in set.sweep_range(index..index + 1, &plan, &mut reader)? {
                result.add(fold, &sums);
            }
            progress(1);
        }
        out.push(result);
    }
    Ok(SweepResult {
        grid: grid.clone(),
        sets: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::sums::to_fixed;

    #[test]
    fn csv_rows_and_best_order() {
        let grid = Grid::from_toml_str("top=[0.5, 0.7]\narea=[10]\nbottom=[0.3]\n", "g").unwrap();
        // fold 1: one image (dice 1.0, 0.5); fold 0: one image (0.5, 1.0): ties overall
        let sums = |a: f64, b: f64| DiceSums::from_parts(1, vec![to_fixed(a), to_fixed(b)]);
        let mut set = SetResult {
            name: "a,b".into(),
            size: 8,
            folds: Vec::new(),
        };
        set.add(Fold::Index(1), &sums(1.0, 0.5));
        set.add(Fold::Index(0), &sums(0.5, 1.0));
        assert_eq!(set.folds[0].0, Fold::Index(0));
        assert_eq!(set.best(5), vec![(0, 0.75), (1, 0.75)]);
        let r = SweepResult {
            grid,
            sets: vec![set],
        };
        let csv = r.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1], "\"a,b\",0,0.5,10,0.3,0,1,0.5");
        assert_eq!(lines[4], "\"a,b\",1,0.7,10,0.3,0,1,0.5");
        assert_eq!(lines[5], "\"a,b\",all,0.5,10,0.3,0,2,0.75");
        assert_eq!(lines.len(), 7);
    }
}
