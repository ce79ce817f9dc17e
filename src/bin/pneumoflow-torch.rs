//! `pneumoflow-torch`: the companion binary that runs the commands needing libtorch (`model`,
//! `weights`, ...). `pneumoflow` hands those commands to it with the same arguments; it accepts
//! every `pneumoflow` command and runs all of them in-process.
#[path = "../cli/mod.rs"]
mod cli;

/// mimalloc: the data path allocates and frees multi-megabyte buffers per record (images,
/// masks, network inputs); glibc's malloc returns them to the kernel and faults them in again,
/// which cost more than the augmentation itself (perf: 56% of the data stages in the kernel's
/// page-fault path). mimalloc keeps them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
