//! `xborderd`: the xborder server. With no subcommand it serves the rule library (the
//! embedded one, or `--rules-dir`); `check`, `test` and `schema` are for rule authors and
//! the CI of rule repositories (module `author`). Every server flag is also an `XBORDER_*`
//! environment variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

mod author;

/// mimalloc instead of glibc malloc: answers and log lines are allocated on the runtime's
/// threads and freed on others (the log writer, the connection tasks), where glibc's arena
/// locks showed up as futex waits in the profile of the unary path.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use xborder::api::auth::{Auth, Token};
use xborder::api::convert::parse_duration;
use xborder::api::logging;
use xborder::api::{self, ApiConfig};
use xborder::model::Library;
use xborder::rules_io::{self, LoadError};
use xborder::store::reconcile::AppliedFiles;
use xborder::store::{DEFAULT_HISTORY_REVISIONS, DurabilityOptions, Store, SystemClock};

/// Policy decision service for cross-border data flows.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to serve gRPC on.
    #[arg(long, env = "XBORDER_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Rule directory to serve instead of the embedded library.
    #[arg(long, env = "XBORDER_RULES_DIR")]
    rules_dir: Option<PathBuf>,
    /// File holding the admin token that writes must present; without it writes are refused.
    #[arg(long, env = "XBORDER_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<PathBuf>,
    /// File holding a token that reads must present; without it reads are open.
    #[arg(long, env = "XBORDER_READ_TOKEN_FILE")]
    read_token_file: Option<PathBuf>,
    /// Directory to keep the store in (journal and snapshots); without it the store lives in
    /// memory only and the rule library is revision 1 at every start.
    #[arg(long, env = "XBORDER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where the store's source of truth is: `memory` (this process, with --data-dir on disk)
    /// or `etcd` (shared by every replica; needs a build with `--features etcd`).
    #[arg(long, env = "XBORDER_STORE", value_enum, default_value_t = StoreKind::Memory)]
    store: StoreKind,
    /// With --store etcd: the etcd client URLs, comma-separated.
    #[arg(
        long,
        env = "XBORDER_ETCD_ENDPOINTS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:2379"
    )]
    etcd_endpoints: Vec<String>,
    /// With --store etcd: the prefix of every key of this store.
    #[arg(long, env = "XBORDER_ETCD_PREFIX", default_value = "/xborder/")]
    etcd_prefix: String,
    /// With --store etcd: how long etcd may be out of reach before health says NOT_SERVING
    /// (assessments and reads are still answered from memory).
    #[arg(long, env = "XBORDER_MAX_STALENESS", default_value = "5s", value_parser = parse_duration)]
    max_staleness: Duration,
    /// With --store etcd: how long connecting (at start) and each etcd request may take.
    #[arg(long, env = "XBORDER_ETCD_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    etcd_timeout: Duration,
    /// Start even if the journal or a snapshot is damaged, keeping the longest valid prefix.
    #[arg(long, env = "XBORDER_REPAIR")]
    repair: bool,
    /// With --data-dir: write a snapshot (and start a new journal) every this many commits.
    #[arg(long, env = "XBORDER_SNAPSHOT_EVERY", default_value_t = 10_000)]
    snapshot_every: u64,
    /// Revisions kept readable (at_revision, watch resume).
    #[arg(long, env = "XBORDER_HISTORY_REVISIONS", default_value_t = DEFAULT_HISTORY_REVISIONS)]
    history_revisions: u64,
    /// Quiet time after which a watch stream gets a PROGRESS message (e.g. 10s, 500ms).
    #[arg(long, env = "XBORDER_PROGRESS_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    progress_interval: Duration,
    /// Most watch streams open at once.
    #[arg(long, env = "XBORDER_MAX_WATCH_STREAMS", default_value_t = 10_000)]
    max_watch_streams: usize,
    /// Time between a shutdown signal (health NOT_SERVING, watch streams ended) and refusing
    /// new calls.
    #[arg(long, env = "XBORDER_DRAIN_DELAY", default_value = "1s", value_parser = parse_duration)]
    drain_delay: Duration,
    /// Address to serve Prometheus `/metrics`, `/healthz` and `/readyz` on (plain HTTP);
    /// off when not set.
    #[arg(long, env = "XBORDER_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// After the drain delay, how long in-flight calls and open connections get before they
    /// are closed.
    #[arg(long, env = "XBORDER_CLOSE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    close_timeout: Duration,
    /// Log format.
    #[arg(long, env = "XBORDER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log lines queued for the writer thread; when stderr is slower and the queue is full,
    /// lines are dropped and counted (xborder_log_lines_dropped_total), never waited for.
    #[arg(long, env = "XBORDER_LOG_QUEUE_LINES", default_value_t = logging::DEFAULT_QUEUE_LINES)]
    log_queue_lines: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a rule directory: prints a summary and exits 0, or prints every problem as
    /// `file:line:column: message` and exits 1.
    Check {
        /// The rule directory (with vocabulary/, groups/ and jurisdictions/).
        dir: PathBuf,
        /// Warn about rule sets whose `reviewed_on` is older than this (e.g. 365d), or that
        /// name none.
        #[arg(long, value_parser = author::parse_days)]
        stale_after: Option<i32>,
    },
    /// Run scenario files (a file, or every *.yaml of a directory) against a rule
    /// directory: prints each failure as `file:line: scenario: want X, got Y (summary)` and
    /// exits 1 on any.
    Test {
        /// The scenario file or directory.
        scenarios: PathBuf,
        /// The rule directory to test; default the built-in library.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Write the JSON Schemas of rule, group, vocabulary and scenario files into a directory,
    /// for editors that validate YAML as you type.
    Schema {
        /// The directory to write into (created if missing).
        dir: PathBuf,
    },
}

/// Where the store's source of truth is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    /// In this process (with `--data-dir`, kept on disk).
    Memory,
    /// In etcd, shared by every replica.
    Etcd,
}

/// The store on etcd, for `--store etcd`.
#[cfg(feature = "etcd")]
fn open_etcd(args: &Args, library: &Library) -> Result<Arc<Store>, String> {
    let options = xborder::store::EtcdOptions {
        endpoints: args.etcd_endpoints.clone(),
        prefix: args.etcd_prefix.clone(),
        timeout: args.etcd_timeout,
        snapshot_every: args.snapshot_every,
        max_staleness: args.max_staleness,
    };
    Store::open_etcd(
        &options,
        library,
        args.history_revisions,
        Arc::new(SystemClock),
    )
    .map_err(|error| {
        format!(
            "cannot open the store in etcd ({}): {error}",
            args.etcd_endpoints.join(",")
        )
    })
}

/// A build without etcd support says how to get one.
#[cfg(not(feature = "etcd"))]
fn open_etcd(_: &Args, _: &Library) -> Result<Arc<Store>, String> {
    Err("this xborderd was built without etcd support: build it with `cargo build --release --features etcd` (the etcd client needs protoc: Debian's protobuf-compiler)".into())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match &args.command {
        Some(Command::Check { dir, stale_after }) => author::check(dir, *stale_after),
        Some(Command::Test { scenarios, rules }) => author::test(scenarios, rules.as_deref()),
        Some(Command::Schema { dir }) => author::schema(dir),
        None => serve(args),
    }
}

fn read_token(path: Option<&Path>, what: &str) -> Result<Option<Token>, String> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the {what} file {}: {error}", path.display()))?;
    Token::new(&text)
        .map(Some)
        .ok_or_else(|| format!("the {what} file {} is empty", path.display()))
}

fn load_rules(dir: Option<&Path>) -> Result<Library, LoadError> {
    match dir {
        Some(dir) => rules_io::load_dir(dir),
        None => rules_io::embedded(),
    }
}

fn serve(args: Args) -> ExitCode {
    let json = matches!(args.log_format, LogFormat::Json);
    // Held until the process ends: dropping it flushes the log queue.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let log = logging::init(json, ansi, args.log_queue_lines, std::io::stderr());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, log.drops.clone())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args, log_drops: logging::LogDrops) -> Result<(), String> {
    let auth = Auth {
        admin: read_token(args.admin_token_file.as_deref(), "admin token")?,
        read: read_token(args.read_token_file.as_deref(), "read token")?,
    };
    if auth.admin.is_none() {
        tracing::warn!("no --admin-token-file: writes are refused");
    }
    let library = load_rules(args.rules_dir.as_deref())
        .map_err(|error| format!("cannot load rules:\n{error}"))?;
    let (store, applied) = match &args.data_dir {
        Some(_) if args.store == StoreKind::Etcd => {
            return Err(
                "--data-dir and --store etcd do not go together: with etcd, etcd keeps the store"
                    .into(),
            );
        }
        None if args.store == StoreKind::Etcd => {
            // Every replica reconciles its rule files against the shared store: the first
            // commits a changed file, the others find it applied and commit nothing.
            let store = open_etcd(&args, &library)?;
            let mut applied = AppliedFiles::default();
            if args.rules_dir.is_some() {
                reconcile(&store, &library, &mut applied, None)?;
            } else {
                applied = AppliedFiles::of(&library);
            }
            (store, applied)
        }
        None => {
            let store = Store::new(&library, args.history_revisions, Arc::new(SystemClock));
            (store, AppliedFiles::of(&library))
        }
        Some(dir) => {
            let options = DurabilityOptions {
                repair: args.repair,
                snapshot_every: args.snapshot_every,
                ..DurabilityOptions::default()
            };
            let store = Store::open(
                dir,
                &library,
                args.history_revisions,
                Arc::new(SystemClock),
                &options,
            )
            .map_err(|error| format!("cannot open the data directory: {error}"))?;
            let mut applied = AppliedFiles::load(dir)?.unwrap_or_default();
            reconcile(&store, &library, &mut applied, Some(dir))?;
            (store, applied)
        }
    };
    let reload = tokio::spawn(reload_on_sighup(
        Arc::clone(&store),
        args.rules_dir.clone(),
        args.data_dir.clone(),
        applied,
    ));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", args.listen))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    let metrics = match args.metrics_listen {
        Some(metrics_address) => {
            let metrics = tokio::net::TcpListener::bind(metrics_address)
                .await
                .map_err(|error| {
                    format!("cannot listen on {metrics_address} for metrics: {error}")
                })?;
            let bound = metrics.local_addr().map_err(|error| error.to_string())?;
            tracing::info!(address = %bound, "metrics, /healthz and /readyz over HTTP");
            Some(metrics)
        }
        None => None,
    };
    tracing::info!(
        %address,
        jurisdictions = library.rule_sets.len(),
        rules = library.rule_count(),
        revision = store.head(),
        "serving"
    );
    let config = ApiConfig {
        auth,
        progress_interval: args.progress_interval,
        max_watch_streams: args.max_watch_streams,
        drain_delay: args.drain_delay,
        close_timeout: args.close_timeout,
        log_drops: Some(log_drops),
        ..ApiConfig::default()
    };
    let served = api::serve(
        store,
        config,
        api::Listeners {
            grpc: listener,
            metrics,
        },
        shutdown_signal(),
    )
    .await
    .map_err(|error| error.to_string());
    reload.abort();
    served
}

/// Commits what changed in the rule files since they were last applied, and records them.
fn reconcile(
    store: &Store,
    library: &Library,
    applied: &mut AppliedFiles,
    data_dir: Option<&Path>,
) -> Result<(), String> {
    let done = store
        .reconcile(library, applied)
        .map_err(|error| format!("cannot apply the rule files: {error}"))?;
    if !done.revisions.is_empty() {
        tracing::info!(revisions = ?done.revisions, "applied changed rule files");
    }
    if let Some(dir) = data_dir {
        applied.save(dir)?;
    }
    Ok(())
}

/// On SIGHUP, reloads `--rules-dir` and commits what changed; a directory with errors is
/// reported and changes nothing.
async fn reload_on_sighup(
    store: Arc<Store>,
    rules_dir: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    mut applied: AppliedFiles,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hangup.recv().await.is_some() {
            let Some(dir) = &rules_dir else {
                tracing::warn!(
                    "SIGHUP: serving the embedded rule library, nothing to reload (use --rules-dir)"
                );
                continue;
            };
            match rules_io::load_dir(dir) {
                Ok(library) => {
                    if let Err(error) =
                        reconcile(&store, &library, &mut applied, data_dir.as_deref())
                    {
                        tracing::error!("SIGHUP: {error}");
                    }
                }
                Err(error) => tracing::error!(
                    "SIGHUP: the rule directory has errors, nothing applied:\n{error}"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (store, rules_dir, data_dir, &mut applied);
    }
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
