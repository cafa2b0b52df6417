//! `xborder watch`: prints change events as they come. On a dropped connection it
//! reconnects with exponential backoff and resumes from the last revision seen + 1, so no
//! event is missed or repeated.

use std::time::Duration;

use serde_json::json;
use tokio_stream::StreamExt;
use tonic::Code;

use xborder::api::pb;

use crate::args::{Format, WatchArgs};
use crate::client::{CliError, Client};
use crate::output;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

fn print_event(event: &pb::WatchRuleChangesResponse, format: Format) {
    let kind = event
        .kind()
        .as_str_name()
        .trim_start_matches("CHANGE_KIND_");
    let committed = event
        .committed_at
        .as_ref()
        .and_then(|t| jiff::Timestamp::new(t.seconds, t.nanos).ok())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let diff = event.diff.clone().unwrap_or_default();
    match format {
        Format::Json => output::print(
            &json!({"revision": event.revision, "kind": kind, "jurisdiction": event.jurisdiction,
                    "group": event.group, "version": event.version, "committed_at": committed,
                    "affected_jurisdictions": event.affected_jurisdictions,
                    "diff": {"added": diff.added, "removed": diff.removed, "modified": diff.modified}})
            .to_string(),
        ),
        Format::Table => {
            let key = if event.group.is_empty() { event.jurisdiction.clone() } else { format!("group {}", event.group) };
            let changes: Vec<String> = [("+", &diff.added), ("-", &diff.removed), ("~", &diff.modified)]
                .iter()
                .flat_map(|(sign, ids)| ids.iter().map(move |id| format!("{sign}{id}")))
                .collect();
            output::print(&format!(
                "{:>8}  {:<16} {:<28} v{:<4} {}  {}",
                event.revision,
                kind,
                key,
                event.version,
                committed,
                changes.join(" ")
            ));
        }
    }
}

/// Whether a stream error is worth reconnecting for (the server or the network went away).
fn transient(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
    )
}

pub async fn run(client: Client, args: WatchArgs, format: Format) -> Result<(), CliError> {
    // The next revision to ask for; 0 until the first connection says where "now" is.
    let mut resume_from = args.from_revision.unwrap_or(0);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let outcome = watch_once(&client, &args, format, &mut resume_from, &mut backoff).await;
        match outcome {
            Ok(()) => {}
            Err(status) if !transient(&status) => return Err(status.into()),
            Err(_) => {}
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: prints events until the stream ends or fails.
async fn watch_once(
    client: &Client,
    args: &WatchArgs,
    format: Format,
    resume_from: &mut u64,
    backoff: &mut Duration,
) -> Result<(), tonic::Status> {
    let mut watch = client
        .watch_fresh()
        .await
        .map_err(|error| tonic::Status::unavailable(error.to_string()))?;
    let mut stream = watch
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            jurisdictions: args.jurisdictions.clone(),
            start_revision: *resume_from,
            include_rule_set: false,
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
        if event.kind() == pb::ChangeKind::Progress {
            // Everything matching up to this revision has been sent.
            if *resume_from == 0 {
                *resume_from = event.revision + 1;
            }
            if args.progress {
                print_event(&event, format);
            }
            continue;
        }
        if event.revision < *resume_from {
            continue;
        }
        *resume_from = event.revision + 1;
        print_event(&event, format);
    }
}
