//! The `pneumoflow` binary: parses the CLI and reports errors with their whole cause chain.
mod cli;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Synth(args) => pneumoflow::commands::synth::run(args),
        Command::Prep(args) => pneumoflow::commands::prep::run(args),
        Command::Inspect(args) => pneumoflow::commands::inspect::run(args),
        Command::Export(args) => pneumoflow::commands::export::run(args),
        Command::Augment(args) => pneumoflow::commands::augment::run(args),
        Command::Weights(args) => pneumoflow::commands::weights::run(args),
        Command::Model(args) => pneumoflow::commands::model::run(args),
    }
}
