//! Progress bars (indicatif; hidden when stderr is not a terminal) and the report of a dataset
//! write's failures.

use indicatif::{ProgressBar, ProgressStyle};
use pneumoflow::data::DataError;

/// A bar with `len` steps, labelled `what`; it is hidden automatically when stderr is not a TTY.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{bar:40}] {pos}/{len} {per_sec} eta {eta} {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}

/// The bar of a whole job: shown by the first process only (it counts every process's records).
pub fn job_bar(len: u64, what: &str, first_process: bool) -> ProgressBar {
    if first_process {
        bar(len, what)
    } else {
        ProgressBar::hidden()
    }
}

/// Prints the failed records of a dataset write (at most 50) before returning its error.
pub fn report_outcome<T>(result: Result<T, DataError>) -> anyhow::Result<T> {
    match result {
        Ok(v) => Ok(v),
        Err(DataError::Records { errors }) => {
            for e in errors.iter().take(50) {
                eprintln!("error: {e}");
            }
            if errors.len() > 50 {
                eprintln!("error: ... and {} more", errors.len() - 50);
            }
            Err(DataError::Records { errors }.into())
        }
        Err(e) => Err(e.into()),
    }
}
