//! Progress bars shared by long-running commands (indicatif; hidden when stderr is not a terminal).
use indicatif::{ProgressBar, ProgressStyle};

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
