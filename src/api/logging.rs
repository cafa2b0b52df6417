//! Logging off the request path: every line (the per-RPC access line included) goes into a
//! bounded queue that one background thread writes to stderr, so a slow or blocked stderr
//! never slows or fails an RPC. When the queue is full a line is dropped and counted
//! (`xborder_log_lines_dropped_total`), and the server logs how many it dropped.

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};

/// Lines the queue holds before new lines are dropped (tracing-appender's own default).
pub const DEFAULT_QUEUE_LINES: usize = 128_000;

/// How many log lines the queue dropped so far; cheap to clone.
#[derive(Clone, Debug)]
pub struct LogDrops(ErrorCounter);

impl LogDrops {
    /// Lines dropped since the start.
    pub fn dropped(&self) -> u64 {
        self.0.dropped_lines() as u64
    }
}

/// Keeps the writer thread running; dropping it flushes the queue.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogWriter {
    _guard: WorkerGuard,
    /// The drop counter, for the metrics.
    pub drops: LogDrops,
}

/// Installs the global subscriber: `RUST_LOG` (default `info`), text or JSON lines (text
/// coloured only when `ansi`: a terminal, not a file or journald), written through a queue
/// of `queue_lines` lines to `writer`.
pub fn init<W>(json: bool, ansi: bool, queue_lines: usize, writer: W) -> LogWriter
where
    W: std::io::Write + Send + 'static,
{
    let (non_blocking, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(queue_lines.max(1))
        .thread_name("xborder-log")
        .finish(writer);
    let drops = LogDrops(non_blocking.error_counter());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi && !json)
        .with_writer(non_blocking);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    LogWriter {
        _guard: guard,
        drops,
    }
}
