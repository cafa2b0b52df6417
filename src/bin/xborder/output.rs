//! Printing: tables (colour only on a terminal, `NO_COLOR` respected) or JSON, and errors
//! with every field violation.

use std::io::Write as _;

use anstyle::{AnsiColor, Style};
use comfy_table::{ContentArrangement, Table, presets};
use tonic_types::StatusExt;

use xborder::api::pb;
use xborder::rules_io::Positions;

use crate::client::CliError;

/// Width tables wrap to: `$COLUMNS` when the shell exports it, else 120.
fn width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.parse().ok())
        .unwrap_or(120)
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

/// A decision name styled by severity.
pub fn decision(decision: pb::Decision) -> String {
    let (name, colour) = match decision {
        pb::Decision::Permitted => ("PERMITTED", AnsiColor::Green),
        pb::Decision::Conditional => ("CONDITIONAL", AnsiColor::Yellow),
        pb::Decision::ReviewRequired => ("REVIEW_REQUIRED", AnsiColor::Magenta),
        pb::Decision::Prohibited => ("PROHIBITED", AnsiColor::Red),
        pb::Decision::Unspecified => ("UNSPECIFIED", AnsiColor::White),
    };
    let style = Style::new().fg_color(Some(colour.into())).bold();
    format!("{style}{name}{style:#}")
}

/// The decision name without styling, as scripts see it.
pub fn decision_name(decision: pb::Decision) -> &'static str {
    match decision {
        pb::Decision::Permitted => "PERMITTED",
        pb::Decision::Conditional => "CONDITIONAL",
        pb::Decision::ReviewRequired => "REVIEW_REQUIRED",
        pb::Decision::Prohibited => "PROHIBITED",
        pb::Decision::Unspecified => "UNSPECIFIED",
    }
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
