//! Dispatch of the subcommands and the exit status of errors.

use anyhow::Result;

use crate::cli::{Cli, Command, TrainArgs};
use crate::interrupt::EXIT_INTERRUPTED;
use crate::stop::Stop;

/// Runs one subcommand. `find` and `train` print a summary as one JSON line on stdout.
pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Find(a) => {
            let (o, dir) = crate::find::run(&a)?;
            println!(
                "{}",
                serde_json::to_string(&crate::find::Summary::new(&o, &dir))?
            );
            Ok(())
        }
        Command::Train(a) => {
            let s = crate::train::run(&a)?;
            println!("{}", serde_json::to_string(&s)?);
            Ok(())
        }
        Command::Schedule(a) => crate::schedule_cmd::run(&a),
        Command::Model(a) => crate::model_cmd::run(&a),
        Command::Predict(a) => crate::predict::run(&a),
    }
}

/// Exit status for an error: 130 after Ctrl-C, 1 otherwise.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<Stop>() {
        Some(Stop::Interrupted { .. }) => EXIT_INTERRUPTED as u8,
        _ => 1,
    }
}

/// The whole `lrate` program: parses the command line (no command = the main job, a default
/// `train`), runs it, and maps an error to its message and exit code.
pub fn main() -> std::process::ExitCode {
    use clap::Parser;
    let cli = Cli::parse();
    crate::allocator::tune();
    match run(cli
        .command
        .unwrap_or_else(|| Command::Train(Box::<TrainArgs>::default())))
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lrate: error: {e:#}");
            std::process::ExitCode::from(exit_code(&e))
        }
    }
}
