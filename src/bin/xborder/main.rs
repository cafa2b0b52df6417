//! `xborder`: the command-line client of xborderd, what etcdctl is to etcd.
//!
//! Exit status: 0 PERMITTED, 10 CONDITIONAL, 11 REVIEW_REQUIRED, 12 PROHIBITED (for
//! `assess`; other commands exit 0 on success), 1 for errors, 2 for usage errors.

mod args;
mod assess;
mod client;
mod json;
mod output;
mod rules;
mod watch;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Args, Command};
use client::{CliError, Client};

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(error) => {
            output::print_error(&error);
            match error {
                CliError::Usage(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

async fn run(args: Args) -> Result<ExitCode, CliError> {
    if let Command::Completions { shell } = args.command {
        clap_complete::generate(
            shell,
            &mut Args::command(),
            "xborder",
            &mut std::io::stdout(),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let client = Client::connect(&args.endpoint, args.token_file.as_deref(), args.timeout)?;
    let format = args.output;
    match args.command {
        Command::Assess(assess) => assess::run(client, assess, format).await,
        Command::Rules { command } => rules::run_rules(client, command, format)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Groups { command } => rules::run_groups(client, command, format)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Watch(watch) => watch::run(client, watch, format)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Completions { .. } => Ok(ExitCode::SUCCESS),
    }
}
