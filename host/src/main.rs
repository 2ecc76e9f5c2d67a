//! The `lrate` binary: see `lrate --help`.

use std::process::ExitCode;

use clap::Parser;
use lrate::cli::{Cli, Command, TrainArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match lrate::app::run(
        cli.command
            .unwrap_or_else(|| Command::Train(Box::<TrainArgs>::default())),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lrate: error: {e:#}");
            ExitCode::from(lrate::app::exit_code(&e))
        }
    }
}
