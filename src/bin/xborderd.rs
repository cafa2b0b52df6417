//! `xborderd`: the xborder server. `xborderd check DIR` validates a rule directory for the
//! CI of rule repositories.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use xborder::rules_io::{self, LoadError};

/// Policy decision service for cross-border data flows.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a rule directory: prints a summary and exits 0, or prints every problem as
    /// `file:line:column: message` and exits 1.
    Check {
        /// The rule directory (with vocabulary/, groups/ and jurisdictions/).
        #[arg(env = "XBORDER_RULES_DIR")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    match Args::parse().command {
        Command::Check { dir } => check(&dir),
    }
}

fn check(dir: &std::path::Path) -> ExitCode {
    match rules_io::load_dir(dir) {
        Ok(library) => {
            println!(
                "ok: {} jurisdictions, {} groups, {} rules in {}",
                library.rule_sets.len(),
                library.groups.len(),
                library.rule_count(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(LoadError::Invalid(errors)) => {
            for error in &errors {
                eprintln!("{error}");
            }
            eprintln!("{} problem(s) in {}", errors.len(), dir.display());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
