//! Hand-off to `pneumoflow-torch`: the commands that need libtorch (`model`, `weights`, and the
//! training and prediction stages to come) run in a companion binary next to `pneumoflow`.
//! Loading libtorch costs about 0.4 s at process start, which the data commands (`prep`,
//! `augment`, `inspect`, ...) then never pay.

use anyhow::{bail, Context};
use std::path::PathBuf;

/// File name of the companion binary.
pub const TORCH_BINARY: &str = "pneumoflow-torch";

/// The companion binary beside the running executable.
pub fn companion() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the pneumoflow executable")?;
    Ok(exe.with_file_name(format!("{TORCH_BINARY}{}", std::env::consts::EXE_SUFFIX)))
}

/// Replaces this process with `pneumoflow-torch` and the same arguments.
pub fn exec() -> anyhow::Result<()> {
    let path = companion()?;
    if !path.exists() {
        bail!(
            "{} not found: this command runs in the companion binary {TORCH_BINARY}, built \
             beside pneumoflow by `cargo build --release --bins` (or `make build`)",
            path.display()
        );
    }
    let mut command = std::process::Command::new(&path);
    command.args(std::env::args_os().skip(1));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = command.exec();
        Err(err).with_context(|| format!("starting {}", path.display()))
    }
    #[cfg(not(unix))]
    {
        let status = command
            .status()
            .with_context(|| format!("starting {}", path.display()))?;
        std::process::exit(status.code().unwrap_or(2));
    }
}
