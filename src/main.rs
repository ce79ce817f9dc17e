//! The `pneumoflow` binary: parses the CLI, runs the command, and reports errors with their
//! whole cause chain (exit 2). A panic anywhere stops the process (see [`cli::fail_fast`]).
//! Commands that need libtorch run in the companion binary `pneumoflow-torch`
//! (`src/bin/pneumoflow-torch.rs`, see [`cli::torch`]).
mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    cli::fail_fast::install();
    let args = cli::Cli::parse();
    match cli::run::<false>(args.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
