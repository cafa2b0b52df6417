//! `xborder watch`: prints change events as they come. On a dropped connection it
//! reconnects with exponential backoff and resumes from the last revision processed + 1,
//! expecting the same `store_id`, so no event is missed or repeated and a server that
//! started a new history is never resumed into silently.

use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::Code;
use tonic_types::StatusExt;

use xborder::api::pb;

use crate::args::{Format, WatchArgs};
use crate::client::{CliError, Client};
use crate::json::to_json;
use crate::output;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

fn print_event(event: &pb::WatchRuleChangesResponse, format: Format) -> Result<(), CliError> {
    if format == Format::Json {
        output::print(&to_json(event, "WatchRuleChangesResponse")?);
        return Ok(());
    }
    let key = if event.group.is_empty() {
        event.jurisdiction.clone()
    } else {
        format!("group {}", event.group)
    };
    let diff = event.diff.clone().unwrap_or_default();
    let changes: Vec<String> = [
        ("+", &diff.added),
        ("-", &diff.removed),
        ("~", &diff.modified),
    ]
    .iter()
    .flat_map(|(sign, ids)| ids.iter().map(move |id| format!("{sign}{id}")))
    .collect();
    output::print(&format!(
        "{:>8}  {:<16} {:<28} v{:<4} {}  {}",
        event.revision,
        output::change_kind(event.kind()),
        key,
        event.version,
        output::timestamp(event.committed_at.as_ref()),
        changes.join(" ")
    ));
    Ok(())
}

/// Whether a stream error is worth reconnecting for (the server or the network went away).
fn transient(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
    )
}

/// Where the watch stands: what to ask for on the next connection.
struct Cursor {
    /// The next revision to ask for; 0 until the first connection says where "now" is.
    resume_from: u64,
    /// The store whose history is being followed, once known.
    store_id: String,
}

/// `xborder watch`.
pub async fn run(client: Client, args: WatchArgs, format: Format) -> Result<(), CliError> {
    let mut cursor = Cursor {
        resume_from: args.from_revision.unwrap_or(0),
        store_id: String::new(),
    };
    let mut backoff = FIRST_BACKOFF;
    loop {
        match watch_once(&client, &args, format, &mut cursor, &mut backoff).await {
            Ok(()) => {}
            Err(WatchEnd::Status(status)) if status.code() == Code::FailedPrecondition => {
                return Err(store_changed(&status, &cursor));
            }
            Err(WatchEnd::Status(status)) if !transient(&status) => return Err(status.into()),
            Err(WatchEnd::Status(_)) => {}
            Err(WatchEnd::Cli(error)) => return Err(error),
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The clear stop for a server whose store is not the one being followed.
fn store_changed(status: &tonic::Status, cursor: &Cursor) -> CliError {
    let reason = status.get_details_error_info().map(|info| info.reason);
    if reason.as_deref() != Some("STORE_CHANGED") {
        return status.clone().into();
    }
    CliError::StoreChanged(format!(
        "the server's store is no longer {} (it started a new history: an in-memory server restarted, or another cluster): \
         revisions after {} are not the ones this watch followed; start a new watch with --from-revision to read the new history",
        cursor.store_id,
        cursor.resume_from.saturating_sub(1)
    ))
}

enum WatchEnd {
    Status(tonic::Status),
    Cli(CliError),
}

impl From<tonic::Status> for WatchEnd {
    fn from(status: tonic::Status) -> Self {
        Self::Status(status)
    }
}

/// One connection: prints events until the stream ends or fails.
async fn watch_once(
    client: &Client,
    args: &WatchArgs,
    format: Format,
    cursor: &mut Cursor,
    backoff: &mut Duration,
) -> Result<(), WatchEnd> {
    let mut watch = client
        .watch_fresh()
        .await
        .map_err(|error| tonic::Status::unavailable(error.to_string()))?;
    let mut stream = watch
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            jurisdictions: args.jurisdictions.clone(),
            start_revision: cursor.resume_from,
            include_rule_set: false,
            expect_store_id: cursor.store_id.clone(),
        })
        .await?
        .into_inner();
    loop {
        let message = tokio::select! {
            _ = tokio::signal::ctrl_c() => std::process::exit(0),
            message = stream.next() => message,
        };
        let Some(event) = message.transpose()? else {
            return Ok(());
        };
        *backoff = FIRST_BACKOFF;
        if cursor.store_id.is_empty() {
            cursor.store_id.clone_from(&event.store_id);
        }
        let progress = event.kind() == pb::ChangeKind::Progress;
        if !progress || args.progress {
            print_event(&event, format).map_err(WatchEnd::Cli)?;
        }
        // Everything matching up to this revision has been sent and processed.
        cursor.resume_from = cursor.resume_from.max(event.revision + 1);
    }
}
