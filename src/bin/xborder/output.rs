//! Printing: tables (colour only on a terminal, `NO_COLOR` respected) fitted to the
//! terminal, and errors with every field violation.

use std::io::Write as _;

use anstyle::{AnsiColor, Style};
use comfy_table::{ContentArrangement, Table, presets};
use tonic_types::StatusExt;

use xborder::api::pb;
use xborder::rules_io::Positions;

use crate::client::CliError;

/// Width used when neither `$COLUMNS` nor the terminal says.
const DEFAULT_WIDTH: u16 = 80;

/// Width tables wrap to: `$COLUMNS` when set, else the terminal's width, else 80.
fn width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.parse().ok())
        .or_else(|| terminal_size::terminal_size().map(|(width, _)| width.0))
        .unwrap_or(DEFAULT_WIDTH)
}

/// A table with the house style, wrapped to the terminal width.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width())
        .set_header(header.iter().copied());
    table
}

/// Prints to stdout; colour codes are dropped when stdout is not a terminal or NO_COLOR is set.
pub fn print(text: &str) {
    let mut out = anstream::stdout();
    let _ = writeln!(out, "{text}");
}

/// A decision name styled by severity (`CONDITIONAL`: the proto name without its prefix).
pub fn decision(decision: pb::Decision) -> String {
    let colour = match decision {
        pb::Decision::Permitted => AnsiColor::Green,
        pb::Decision::Conditional => AnsiColor::Yellow,
        pb::Decision::ReviewRequired => AnsiColor::Magenta,
        pb::Decision::Prohibited => AnsiColor::Red,
        pb::Decision::Unspecified => AnsiColor::White,
    };
    let name = decision.as_str_name().trim_start_matches("DECISION_");
    let style = Style::new().fg_color(Some(colour.into())).bold();
    format!("{style}{name}{style:#}")
}

/// A change kind without its prefix (`UPDATED`).
pub fn change_kind(kind: pb::ChangeKind) -> &'static str {
    kind.as_str_name().trim_start_matches("CHANGE_KIND_")
}

/// A protobuf timestamp in RFC 3339, or empty.
pub fn timestamp(timestamp: Option<&prost_types::Timestamp>) -> String {
    timestamp
        .and_then(|t| jiff::Timestamp::new(t.seconds, t.nanos).ok())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// `CN->US`, or `CN=>US` for an onward leg.
pub fn leg(leg: Option<&pb::Leg>) -> String {
    leg.map(|leg| {
        format!(
            "{}{}{}",
            leg.from,
            if leg.onward { "=>" } else { "->" },
            leg.to
        )
    })
    .unwrap_or_default()
}

pub use xborder::api::telemetry::code_name;

/// Prints an error on stderr: the gRPC code, the message and every field violation (at
/// its `file:line:column` when the fields come from a YAML file that was sent).
pub fn print_error(error: &CliError) {
    let mut err = anstream::stderr();
    let style = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    match error {
        CliError::Status { status, file } => {
            let _ = writeln!(
                err,
                "{style}error{style:#}: {}: {}",
                code_name(status.code()),
                status.message()
            );
            let violations = status
                .get_details_bad_request()
                .map(|bad| bad.field_violations)
                .unwrap_or_default();
            let positions = file
                .as_ref()
                .map(|(name, text)| (name, Positions::of(text)));
            for violation in violations {
                match &positions {
                    Some((name, positions)) => {
                        let path = violation.field.split_once('.').map_or("", |(_, rest)| rest);
                        let position = positions.find(path);
                        let _ = writeln!(
                            err,
                            "  {name}:{}:{}: {} ({})",
                            position.line, position.column, violation.description, violation.field
                        );
                    }
                    None => {
                        let _ = writeln!(err, "  {}: {}", violation.field, violation.description);
                    }
                }
            }
        }
        other => {
            let _ = writeln!(err, "{style}error{style:#}: {other}");
        }
    }
}
