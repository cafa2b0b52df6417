//! Command-line arguments; every global option is also an environment variable.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

use xborder::api::convert::parse_duration;

/// Command-line client of the xborder cross-border data-flow policy service.
///
/// Exit status: 0 PERMITTED, 10 CONDITIONAL, 11 REVIEW_REQUIRED, 12 PROHIBITED (assess),
/// 0 success (other commands), 1 error, 2 usage error.
#[derive(Debug, Parser)]
#[command(name = "xborder", version, about, long_about = None)]
pub struct Args {
    /// xborderd endpoint.
    #[arg(
        long,
        global = true,
        env = "XBORDER_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    pub endpoint: String,
    /// File holding the bearer token to send (the admin token for writes).
    #[arg(long, global = true, env = "XBORDER_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Output format: aligned tables for people, or the canonical protobuf JSON mapping of
    /// each response for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// How long a call (and connecting for it) may take; `watch` has no deadline, only this
    /// bound on connecting.
    #[arg(long, global = true, env = "XBORDER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    #[command(subcommand)]
    pub command: Command,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables, colour on a terminal (NO_COLOR respected).
    Table,
    /// The canonical protobuf JSON mapping of each response (one per line for streams).
    Json,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Assess a flow (exit status tells the decision), or a file of flows.
    Assess(AssessArgs),
    /// Read and write rule sets.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Read and write country groups.
    Groups {
        #[command(subcommand)]
        command: GroupsCommand,
    },
    /// Print rule changes as they are committed; reconnects and resumes without gaps.
    Watch(WatchArgs),
    /// Print a shell completion script (`xborder completions bash > /etc/bash_completion.d/xborder`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `xborder assess`.
#[derive(Debug, ClapArgs)]
pub struct AssessArgs {
    /// Origin country (ISO 3166-1 alpha-2).
    #[arg(long = "from", required_unless_present = "file")]
    pub origin: Option<String>,
    /// Destination country.
    #[arg(long = "to", required_unless_present = "file")]
    pub destination: Option<String>,
    /// A country the data passes through (repeatable, in order).
    #[arg(long = "via")]
    pub transit: Vec<String>,
    /// A data category (repeatable), e.g. user.contact.
    #[arg(long = "category", required_unless_present = "file")]
    pub categories: Vec<String>,
    /// Number of individuals whose data is in the flow: required for personal data
    /// (categories under `user`).
    #[arg(long = "subjects")]
    pub subjects: Option<u64>,
    /// A mechanism in place (repeatable), e.g. cn_standard_contract.
    #[arg(long = "safeguard")]
    pub safeguards: Vec<String>,
    /// The flow's purpose, e.g. hr_management.
    #[arg(long)]
    pub purpose: Option<String>,
    /// The data's protection state, e.g. anonymized.
    #[arg(long)]
    pub protection: Option<String>,
    /// The exporter operates critical information infrastructure.
    #[arg(long)]
    pub critical_infrastructure: bool,
    /// The importer is a public authority (default: a private business).
    #[arg(long)]
    pub importer_public_authority: bool,
    /// Assess against a retained revision.
    #[arg(long)]
    pub at_revision: Option<u64>,
    /// Evaluation time (RFC 3339), default now.
    #[arg(long)]
    pub at_time: Option<jiff::Timestamp>,
    /// Also list the rules that did not match and why.
    #[arg(long)]
    pub explain: bool,
    /// Assess every flow of a JSON-lines file through the AssessFlows stream: each line is an
    /// `AssessFlowRequest` in the protobuf JSON mapping (`{"flow": {...}}`, as `buf curl`
    /// takes it); prints one `AssessFlowsResponse` per line. Exit status: the most severe
    /// decision, 1 if any flow failed.
    #[arg(long, conflicts_with_all = ["origin", "destination", "categories"])]
    pub file: Option<PathBuf>,
}

/// `xborder rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List rule sets.
    List,
    /// Print a rule set as YAML (the format `put` takes).
    Get {
        /// Jurisdiction code.
        code: String,
        /// Read a retained revision.
        #[arg(long, conflicts_with = "version")]
        revision: Option<u64>,
        /// Read a retained version.
        #[arg(long)]
        version: Option<u64>,
    },
    /// List the retained versions of a rule set.
    History {
        /// Jurisdiction code.
        code: String,
    },
    /// Create or replace a rule set from a YAML file and show the diff.
    Put {
        /// The rule-set file (same format as deploy/rules/jurisdictions/).
        file: PathBuf,
        /// Version being replaced (0 = must not exist); default: the current version.
        #[arg(long)]
        expected_version: Option<u64>,
        /// Validate and show the diff without committing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete a rule set.
    Delete {
        /// Jurisdiction code.
        code: String,
        /// Version being deleted.
        #[arg(long)]
        expected_version: u64,
    },
}

/// `xborder groups ...`.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List country groups.
    List,
    /// Print a country group as YAML.
    Get {
        /// Group name.
        name: String,
    },
    /// Create or replace a country group from a YAML file and show the diff.
    Put {
        /// The group file (same format as deploy/rules/groups/).
        file: PathBuf,
        /// Version being replaced (0 = must not exist); default: the current version.
        #[arg(long)]
        expected_version: Option<u64>,
        /// Validate and show the diff without committing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `xborder watch`.
#[derive(Debug, ClapArgs)]
pub struct WatchArgs {
    /// A jurisdiction to watch (repeatable); none = all.
    #[arg(long = "jurisdiction")]
    pub jurisdictions: Vec<String>,
    /// First revision to print (inclusive); default: only changes from now on.
    #[arg(long)]
    pub from_revision: Option<u64>,
    /// Also print PROGRESS heartbeats.
    #[arg(long)]
    pub progress: bool,
}
