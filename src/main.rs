//! The `pneumoflow` binary: parses the CLI, runs the command, and reports errors with their
//! whole cause chain (exit 2). A panic anywhere stops the process (see [`cli::fail_fast`]).
//! Commands that need libtorch run in the companion binary `pneumoflow-torch`
//! (`src/bin/pneumoflow-torch.rs`, see [`cli::torch`]).
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
    match cli::run::<false>(args.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
