//! `xborder rules ...` and `xborder groups ...`.

use std::path::Path;

use serde_json::json;
use tonic::Code;

use xborder::api::convert::{self, pb_country_group, pb_rule_set};
use xborder::api::pb;
use xborder::rules_io;

use crate::args::{Format, GroupsCommand, RulesCommand};
use crate::client::{CliError, Client};
use crate::output;

fn read(path: &Path) -> Result<(String, String), CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| CliError::File(format!("cannot read {}: {error}", path.display())))?;
    Ok((path.display().to_string(), text))
}

/// Attaches the YAML file sent so field violations point into it.
fn in_file(file: &(String, String)) -> impl Fn(tonic::Status) -> CliError + '_ {
    move |status| CliError::Status {
        status,
        file: Some(file.clone()),
    }
}

fn yaml<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    serde_saphyr::to_string(value)
        .map_err(|error| CliError::File(format!("cannot render YAML: {error}")))
}

fn print_diff(
    format: Format,
    what: &str,
    revision: u64,
    version: u64,
    committed: bool,
    diff: &pb::Diff,
) {
    match format {
        Format::Json => output::print(
            &json!({"key": what, "revision": revision, "version": version, "committed": committed,
                    "diff": {"added": diff.added, "removed": diff.removed, "modified": diff.modified}})
            .to_string(),
        ),
        Format::Table => {
            let state = if committed { "committed" } else { "validated, not committed (dry run)" };
            output::print(&format!("{what}: version {version} at revision {revision} ({state})"));
            for (sign, ids) in [("+", &diff.added), ("-", &diff.removed), ("~", &diff.modified)] {
                for id in ids {
                    output::print(&format!("  {sign} {id}"));
                }
            }
        }
    }
}

/// The current version of an entry for a put without `--expected-version` (0 if absent).
async fn current_version<F>(lookup: F) -> Result<u64, CliError>
where
    F: std::future::Future<Output = Result<u64, tonic::Status>>,
{
    match lookup.await {
        Ok(version) => Ok(version),
        Err(status) if status.code() == Code::NotFound => Ok(0),
        Err(status) => Err(status.into()),
    }
}

pub async fn run_rules(
    client: Client,
    command: RulesCommand,
    format: Format,
) -> Result<(), CliError> {
    let mut rules = client.rules();
    match command {
        RulesCommand::List => {
            let mut summaries = Vec::new();
            let mut page_token = String::new();
            let revision = loop {
                let page = rules
                    .list_rule_sets(pb::ListRuleSetsRequest {
                        page_size: 1000,
                        page_token,
                        at_revision: 0,
                    })
                    .await?
                    .into_inner();
                summaries.extend(page.rule_sets);
                if page.next_page_token.is_empty() {
                    break page.revision;
                }
                page_token = page.next_page_token;
            };
            match format {
                Format::Json => output::print(
                    &json!({"revision": revision, "rule_sets": summaries.iter().map(|s| json!({
                        "jurisdiction": s.jurisdiction, "name": s.name, "version": s.version,
                        "rule_count": s.rule_count})).collect::<Vec<_>>()})
                    .to_string(),
                ),
                Format::Table => {
                    let mut table = output::table(&["Jurisdiction", "Name", "Version", "Rules"]);
                    for s in &summaries {
                        table.add_row([
                            s.jurisdiction.clone(),
                            s.name.clone(),
                            s.version.to_string(),
                            s.rule_count.to_string(),
                        ]);
                    }
                    output::print(&format!("{table}\nrevision {revision}"));
                }
            }
        }
        RulesCommand::Get {
            code,
            revision,
            version,
        } => {
            let answer = rules
                .get_rule_set(pb::GetRuleSetRequest {
                    jurisdiction: code,
                    at_revision: revision.unwrap_or_default(),
                    version: version.unwrap_or_default(),
                })
                .await?
                .into_inner();
            let rule_set = convert::rule_set(answer.rule_set.unwrap_or_default(), "rule_set")
                .map_err(|_| {
                    CliError::File("the server sent a rule set this client cannot read".into())
                })?;
            match format {
                Format::Json => output::print(
                    &json!({"version": answer.version, "revision": answer.revision, "rule_set": rule_set}).to_string(),
                ),
                Format::Table => output::print(&format!(
                    "# version {} at revision {}\n{}",
                    answer.version,
                    answer.revision,
                    yaml(&rule_set)?
                )),
            }
        }
        RulesCommand::History { code } => {
            let versions = rules
                .list_rule_set_versions(pb::ListRuleSetVersionsRequest { jurisdiction: code })
                .await?
                .into_inner()
                .versions;
            let committed = |v: &pb::RuleSetVersionInfo| {
                v.committed_at
                    .as_ref()
                    .and_then(|t| jiff::Timestamp::new(t.seconds, t.nanos).ok())
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "loaded".into())
            };
            let kind = |v: &pb::RuleSetVersionInfo| match v.kind() {
                pb::ChangeKind::Unspecified => "LOADED",
                kind => kind.as_str_name().trim_start_matches("CHANGE_KIND_"),
            };
            match format {
                Format::Json => output::print(
                    &json!(
                        versions
                            .iter()
                            .map(|v| json!({"version": v.version, "revision": v.revision,
                        "kind": kind(v), "committed_at": committed(v)}))
                            .collect::<Vec<_>>()
                    )
                    .to_string(),
                ),
                Format::Table => {
                    let mut table = output::table(&["Version", "Revision", "Change", "Committed"]);
                    for v in &versions {
                        table.add_row([
                            v.version.to_string(),
                            v.revision.to_string(),
                            kind(v).to_owned(),
                            committed(v),
                        ]);
                    }
                    output::print(&table.to_string());
                }
            }
        }
        RulesCommand::Put {
            file,
            expected_version,
            dry_run,
        } => {
            let source = read(&file)?;
            let rule_set =
                rules_io::parse_rule_set(&source.0, &source.1).map_err(CliError::RuleFile)?;
            let jurisdiction = rule_set.jurisdiction.clone();
            let expected_version = match expected_version {
                Some(version) => version,
                None => {
                    let mut lookup = rules.clone();
                    let request = pb::GetRuleSetRequest {
                        jurisdiction: jurisdiction.clone(),
                        ..Default::default()
                    };
                    current_version(async move {
                        Ok(lookup.get_rule_set(request).await?.into_inner().version)
                    })
                    .await?
                }
            };
            let answer = rules
                .put_rule_set(pb::PutRuleSetRequest {
                    rule_set: Some(pb_rule_set(&rule_set)),
                    expected_version,
                    validate_only: dry_run,
                })
                .await
                .map_err(in_file(&source))?
                .into_inner();
            let diff = answer.diff.unwrap_or_default();
            print_diff(
                format,
                &format!("rule set {jurisdiction}"),
                answer.revision,
                answer.version,
                answer.committed,
                &diff,
            );
        }
        RulesCommand::Delete {
            code,
            expected_version,
        } => {
            let answer = rules
                .delete_rule_set(pb::DeleteRuleSetRequest {
                    jurisdiction: code.clone(),
                    expected_version,
                })
                .await?
                .into_inner();
            let diff = answer.diff.unwrap_or_default();
            print_diff(
                format,
                &format!("rule set {code} deleted"),
                answer.revision,
                answer.version,
                true,
                &diff,
            );
        }
    }
    Ok(())
}

pub async fn run_groups(
    client: Client,
    command: GroupsCommand,
    format: Format,
) -> Result<(), CliError> {
    let mut rules = client.rules();
    match command {
        GroupsCommand::List => {
            let answer = rules
                .list_country_groups(pb::ListCountryGroupsRequest::default())
                .await?
                .into_inner();
            let groups: Vec<(pb::CountryGroup, u64)> = answer
                .groups
                .into_iter()
                .map(|entry| (entry.group.unwrap_or_default(), entry.version))
                .collect();
            match format {
                Format::Json => output::print(
                    &json!({"revision": answer.revision, "groups": groups.iter().map(|(g, version)| json!({
                        "name": g.name, "version": version, "members": g.members})).collect::<Vec<_>>()})
                    .to_string(),
                ),
                Format::Table => {
                    let mut table = output::table(&["Group", "Version", "Members"]);
                    for (group, version) in &groups {
                        table.add_row([group.name.clone(), version.to_string(), group.members.join(" ")]);
                    }
                    output::print(&table.to_string());
                }
            }
        }
        GroupsCommand::Get { name } => {
            let answer = rules
                .get_country_group(pb::GetCountryGroupRequest {
                    name,
                    at_revision: 0,
                })
                .await?
                .into_inner();
            let group = convert::country_group(answer.group.unwrap_or_default());
            match format {
                Format::Json => output::print(
                    &json!({"version": answer.version, "revision": answer.revision, "group": group}).to_string(),
                ),
                Format::Table => output::print(&format!(
                    "# version {} at revision {}\n{}",
                    answer.version,
                    answer.revision,
                    yaml(&group)?
                )),
            }
        }
        GroupsCommand::Put {
            file,
            expected_version,
            dry_run,
        } => {
            let source = read(&file)?;
            let group = rules_io::parse_group(&source.0, &source.1).map_err(CliError::RuleFile)?;
            let name = group.name.clone();
            let expected_version = match expected_version {
                Some(version) => version,
                None => {
                    let mut lookup = rules.clone();
                    let request = pb::GetCountryGroupRequest {
                        name: name.clone(),
                        at_revision: 0,
                    };
                    current_version(async move {
                        Ok(lookup
                            .get_country_group(request)
                            .await?
                            .into_inner()
                            .version)
                    })
                    .await?
                }
            };
            let answer = rules
                .put_country_group(pb::PutCountryGroupRequest {
                    group: Some(pb_country_group(&group)),
                    expected_version,
                    validate_only: dry_run,
                })
                .await
                .map_err(in_file(&source))?
                .into_inner();
            let diff = answer.diff.unwrap_or_default();
            print_diff(
                format,
                &format!("group {name}"),
                answer.revision,
                answer.version,
                answer.committed,
                &diff,
            );
        }
    }
    Ok(())
}
