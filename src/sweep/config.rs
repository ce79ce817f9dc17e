//! `[sweep]` of the pipeline file: which grid the `run` command sweeps over which prediction set
//! of the run's store, and where the results go.

use serde::Deserialize;
use std::path::PathBuf;

/// `[sweep]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// The grid file (see [`super::grid`]).
    pub grid: PathBuf,
    /// The prediction set swept (default `valid-top`, the out-of-fold maps).
    #[serde(default = "default_set")]
    pub predictions: String,
    /// Output directory of `sweep.csv` and `sweep.png` (default `<run dir>/sweep`).
    pub out: Option<PathBuf>,
}

fn default_set() -> String {
    "valid-top".into()
}
