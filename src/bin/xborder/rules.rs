//! `xborder rules ...` and `xborder groups ...`: one function per subcommand. JSON output
//! is the response message in the protobuf JSON mapping.

use std::path::Path;

use tonic::Code;

use xborder::api::convert::{self, pb_country_group, pb_rule_set};
use xborder::api::pb;
use xborder::rules_io;

use crate::args::{Format, GroupsCommand, RulesCommand};
use crate::client::{CliError, Client};
use crate::json::to_json;
use crate::output;

type Rules = pb::rule_service_client::RuleServiceClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        crate::client::Bearer,
    >,
>;

/// `xborder rules ...`.
pub async fn run_rules(
    client: Client,
    command: RulesCommand,
    format: Format,
) -> Result<(), CliError> {
    let rules = client.rules();
    match command {
        RulesCommand::List => rules_list(rules, format).await,
        RulesCommand::Get {
            code,
            revision,
            version,
        } => rules_get(rules, code, revision, version, format).await,
        RulesCommand::History { code } => rules_history(rules, code, format).await,
        RulesCommand::Put {
            file,
            expected_version,
            dry_run,
        } => rules_put(rules, &file, expected_version, dry_run, format).await,
        RulesCommand::Delete {
            code,
            expected_version,
        } => rules_delete(rules, code, expected_version, format).await,
    }
}

/// `xborder groups ...`.
pub async fn run_groups(
    client: Client,
    command: GroupsCommand,
    format: Format,
) -> Result<(), CliError> {
    let rules = client.rules();
    match command {
        GroupsCommand::List => groups_list(rules, format).await,
        GroupsCommand::Get { name } => groups_get(rules, name, format).await,
        GroupsCommand::Put {
            file,
            expected_version,
            dry_run,
        } => groups_put(rules, &file, expected_version, dry_run, format).await,
    }
}

async fn rules_list(mut rules: Rules, format: Format) -> Result<(), CliError> {
    let mut all = pb::ListRuleSetsResponse::default();
    let mut page_token = String::new();
    loop {
        let page = rules
            .list_rule_sets(pb::ListRuleSetsRequest {
                page_size: 1000,
                page_token,
                at_revision: all.revision,
            })
            .await?
            .into_inner();
        all.rule_sets.extend(page.rule_sets);
        all.revision = page.revision;
        all.store_id = page.store_id;
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    match format {
        Format::Json => output::print(&to_json(&all, "ListRuleSetsResponse")?),
        Format::Table => {
            let mut table = output::table(&["Jurisdiction", "Name", "Version", "Rules"]);
            for s in &all.rule_sets {
                table.add_row([
                    s.jurisdiction.clone(),
                    s.name.clone(),
                    s.version.to_string(),
                    s.rule_count.to_string(),
                ]);
            }
            output::print(&format!("{table}\nrevision {}", all.revision));
        }
    }
    Ok(())
}

async fn rules_get(
    mut rules: Rules,
    code: String,
    revision: Option<u64>,
    version: Option<u64>,
    format: Format,
) -> Result<(), CliError> {
    let answer = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: code,
            at_revision: revision.unwrap_or_default(),
            version: version.unwrap_or_default(),
        })
        .await?
        .into_inner();
    match format {
        Format::Json => output::print(&to_json(&answer, "GetRuleSetResponse")?),
        Format::Table => {
            let rule_set = convert::rule_set(answer.rule_set.unwrap_or_default(), "rule_set")
                .map_err(|_| {
                    CliError::File("the server sent a rule set this client cannot read".into())
                })?;
            output::print(&format!(
                "# version {} at revision {}\n{}",
                answer.version,
                answer.revision,
                yaml(&rule_set)?
            ));
        }
    }
    Ok(())
}

async fn rules_history(mut rules: Rules, code: String, format: Format) -> Result<(), CliError> {
    let answer = rules
        .list_rule_set_versions(pb::ListRuleSetVersionsRequest { jurisdiction: code })
        .await?
        .into_inner();
    match format {
        Format::Json => output::print(&to_json(&answer, "ListRuleSetVersionsResponse")?),
        Format::Table => {
            let mut table = output::table(&["Version", "Revision", "Change", "Committed"]);
            for v in &answer.versions {
                let (kind, committed) = match v.kind() {
                    pb::ChangeKind::Unspecified => ("LOADED", "loaded".to_owned()),
                    kind => (
                        output::change_kind(kind),
                        output::timestamp(v.committed_at.as_ref()),
                    ),
                };
                table.add_row([
                    v.version.to_string(),
                    v.revision.to_string(),
                    kind.to_owned(),
                    committed,
                ]);
            }
            output::print(&table.to_string());
        }
    }
    Ok(())
}

async fn rules_put(
    mut rules: Rules,
    file: &Path,
    expected_version: Option<u64>,
    dry_run: bool,
    format: Format,
) -> Result<(), CliError> {
    let source = read(file)?;
    let rule_set = rules_io::parse_rule_set(&source.0, &source.1).map_err(CliError::RuleFile)?;
    let jurisdiction = rule_set.jurisdiction.clone();
    let expected_version = match expected_version {
        Some(version) => version,
        None => current_version(rules.get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: jurisdiction.clone(),
            ..Default::default()
        }))
        .await?
        .map_or(0, |answer| answer.version),
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
    print_write(format, &format!("rule set {jurisdiction}"), &answer)
}

async fn rules_delete(
    mut rules: Rules,
    code: String,
    expected_version: u64,
    format: Format,
) -> Result<(), CliError> {
    let answer = rules
        .delete_rule_set(pb::DeleteRuleSetRequest {
            jurisdiction: code.clone(),
            expected_version,
        })
        .await?
        .into_inner();
    print_write(format, &format!("rule set {code} deleted"), &answer)
}

async fn groups_list(mut rules: Rules, format: Format) -> Result<(), CliError> {
    let answer = rules
        .list_country_groups(pb::ListCountryGroupsRequest::default())
        .await?
        .into_inner();
    match format {
        Format::Json => output::print(&to_json(&answer, "ListCountryGroupsResponse")?),
        Format::Table => {
            let mut table = output::table(&["Group", "Version", "Members"]);
            for entry in &answer.groups {
                let group = entry.group.clone().unwrap_or_default();
                table.add_row([
                    group.name,
                    entry.version.to_string(),
                    group.members.join(" "),
                ]);
            }
            output::print(&table.to_string());
        }
    }
    Ok(())
}

async fn groups_get(mut rules: Rules, name: String, format: Format) -> Result<(), CliError> {
    let answer = rules
        .get_country_group(pb::GetCountryGroupRequest {
            name,
            at_revision: 0,
        })
        .await?
        .into_inner();
    match format {
        Format::Json => output::print(&to_json(&answer, "GetCountryGroupResponse")?),
        Format::Table => {
            let group = convert::country_group(answer.group.unwrap_or_default(), "group").map_err(
                |_| CliError::File("the server sent a group this client cannot read".into()),
            )?;
            output::print(&format!(
                "# version {} at revision {}\n{}",
                answer.version,
                answer.revision,
                yaml(&group)?
            ));
        }
    }
    Ok(())
}

async fn groups_put(
    mut rules: Rules,
    file: &Path,
    expected_version: Option<u64>,
    dry_run: bool,
    format: Format,
) -> Result<(), CliError> {
    let source = read(file)?;
    let group = rules_io::parse_group(&source.0, &source.1).map_err(CliError::RuleFile)?;
    let name = group.name.clone();
    let expected_version = match expected_version {
        Some(version) => version,
        None => current_version(rules.get_country_group(pb::GetCountryGroupRequest {
            name: name.clone(),
            at_revision: 0,
        }))
        .await?
        .map_or(0, |answer| answer.version),
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
    print_write(format, &format!("group {name}"), &answer)
}

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

/// The entry as it is now, for a put without `--expected-version` (`None` if absent).
async fn current_version<T>(
    lookup: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<Option<T>, CliError> {
    match lookup.await {
        Ok(answer) => Ok(Some(answer.into_inner())),
        Err(status) if status.code() == Code::NotFound => Ok(None),
        Err(status) => Err(status.into()),
    }
}

/// What the table shows of a write's answer.
trait WriteAnswer: prost::Message {
    /// The proto message name, for JSON.
    const NAME: &'static str;
    /// Revision, version, whether committed, and the diff.
    fn outcome(&self) -> (u64, u64, bool, Option<&pb::Diff>);
}

impl WriteAnswer for pb::PutRuleSetResponse {
    const NAME: &'static str = "PutRuleSetResponse";
    fn outcome(&self) -> (u64, u64, bool, Option<&pb::Diff>) {
        (
            self.revision,
            self.version,
            self.committed,
            self.diff.as_ref(),
        )
    }
}

impl WriteAnswer for pb::PutCountryGroupResponse {
    const NAME: &'static str = "PutCountryGroupResponse";
    fn outcome(&self) -> (u64, u64, bool, Option<&pb::Diff>) {
        (
            self.revision,
            self.version,
            self.committed,
            self.diff.as_ref(),
        )
    }
}

impl WriteAnswer for pb::DeleteRuleSetResponse {
    const NAME: &'static str = "DeleteRuleSetResponse";
    fn outcome(&self) -> (u64, u64, bool, Option<&pb::Diff>) {
        (self.revision, self.version, true, self.diff.as_ref())
    }
}

/// Prints a write's answer: its JSON, or `what: version V at revision R` and the diff.
fn print_write<A: WriteAnswer>(format: Format, what: &str, answer: &A) -> Result<(), CliError> {
    if format == Format::Json {
        output::print(&to_json(answer, A::NAME)?);
        return Ok(());
    }
    let (revision, version, committed, diff) = answer.outcome();
    let state = if committed {
        "committed"
    } else {
        "validated, not committed (dry run)"
    };
    output::print(&format!(
        "{what}: version {version} at revision {revision} ({state})"
    ));
    let diff = diff.cloned().unwrap_or_default();
    for (sign, ids) in [
        ("+", &diff.added),
        ("-", &diff.removed),
        ("~", &diff.modified),
    ] {
        for id in ids {
            output::print(&format!("  {sign} {id}"));
        }
    }
    Ok(())
}
