//! `pneumoflow-torch`: the companion binary that runs the commands needing libtorch (`model`,
//! `weights`, ...). `pneumoflow` hands those commands to it with the same arguments; it accepts
//! every `pneumoflow` command and runs all of them in-process.
#[path = "../cli/mod.rs"]
mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    cli::fail_fast::install();
    let args = cli::Cli::parse();
    match cli::run::<true>(args.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
