//! `RuleService`: reads at any retained revision, CAS writes with validation.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::model::Violation;
use crate::store::{At, StoreError, WriteOutcome};

use super::auth::Access;
use super::convert::{self, pb_country_group, pb_diff, pb_rule_set};
use super::error::ApiError;
use super::pb;
use super::pb::rule_service_server::RuleService;
use super::state::Shared;
use super::telemetry::CallFields;

/// Default and largest page of `ListRuleSets`.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1_000;

/// The service.
#[derive(Debug, Clone)]
pub struct RuleApi(pub Arc<Shared>);

fn required(field: &str) -> ApiError {
    ApiError::Invalid(vec![Violation {
        path: field.into(),
        message: format!("`{field}` is required"),
    }])
}

/// Puts the request field's name in front of the store's violation paths.
fn under(field: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |error| match error {
        StoreError::Invalid { violations, .. } => ApiError::Invalid(
            violations
                .into_iter()
                .map(|violation| Violation {
                    path: format!("{field}.{}", violation.path),
                    message: violation.message,
                })
                .collect(),
        ),
        other => ApiError::Store(other),
    }
}

/// Counts a write's outcome and notes its versions for the log line.
fn record_write(
    shared: &Shared,
    operation: &'static str,
    fields: &mut CallFields,
    expected_version: u64,
    result: Result<WriteOutcome, ApiError>,
) -> Result<WriteOutcome, ApiError> {
    fields.old_version = Some(expected_version);
    let outcome = match &result {
        Ok(outcome) => {
            fields.new_version = Some(outcome.version);
            if outcome.committed {
                "committed"
            } else {
                "validated"
            }
        }
        Err(ApiError::Invalid(_) | ApiError::Store(StoreError::Invalid { .. })) => "invalid",
        Err(ApiError::Store(StoreError::Conflict { .. })) => "conflict",
        Err(ApiError::Store(StoreError::NotFound { .. })) => "not_found",
        Err(_) => "error",
    };
    shared.telemetry.wrote(operation, outcome);
    result
}

/// A page token: the revision listed and the last jurisdiction returned.
fn parse_page_token(token: &str) -> Option<(u64, String)> {
    let (revision, after) = token.split_once(':')?;
    Some((revision.parse().ok()?, after.to_owned()))
}

fn get_rule_set(
    shared: &Shared,
    request: pb::GetRuleSetRequest,
    _: &mut CallFields,
) -> Result<pb::GetRuleSetResponse, ApiError> {
    if request.jurisdiction.is_empty() {
        return Err(required("jurisdiction"));
    }
    let at = match (request.at_revision, request.version) {
        (0, 0) => At::Latest,
        (revision, 0) => At::Revision(revision),
        (0, version) => At::Version(version),
        _ => {
            return Err(ApiError::Invalid(vec![Violation {
                path: "version".into(),
                message: "set at most one of `at_revision` and `version`".into(),
            }]));
        }
    };
    let (rule_set, revision) = shared.store.rule_set(&request.jurisdiction, at)?;
    Ok(pb::GetRuleSetResponse {
        rule_set: Some(pb_rule_set(&rule_set.source)),
        version: rule_set.version,
        revision,
        store_id: shared.store.store_id().to_owned(),
    })
}

fn list_rule_sets(
    shared: &Shared,
    request: pb::ListRuleSetsRequest,
    _: &mut CallFields,
) -> Result<pb::ListRuleSetsResponse, ApiError> {
    let (revision, after) = if request.page_token.is_empty() {
        (request.at_revision, String::new())
    } else {
        parse_page_token(&request.page_token).ok_or_else(|| {
            ApiError::Invalid(vec![Violation {
                path: "page_token".into(),
                message: "not a page token returned by ListRuleSets".into(),
            }])
        })?
    };
    let snapshot = shared.store.snapshot_at(revision)?;
    let page_size = match request.page_size as usize {
        0 => DEFAULT_PAGE,
        size => size.min(MAX_PAGE),
    };
    let mut rule_sets: Vec<pb::RuleSetSummary> = snapshot
        .rule_sets
        .range::<str, _>((
            std::ops::Bound::Excluded(after.as_str()),
            std::ops::Bound::Unbounded,
        ))
        .take(page_size + 1)
        .map(|(jurisdiction, rule_set)| pb::RuleSetSummary {
            jurisdiction: jurisdiction.clone(),
            name: rule_set.source.name.clone(),
            version: rule_set.version,
            rule_count: u32::try_from(rule_set.source.rules.len()).unwrap_or(u32::MAX),
        })
        .collect();
    let next_page_token = if rule_sets.len() > page_size {
        rule_sets.truncate(page_size);
        rule_sets
            .last()
            .map(|last| format!("{}:{}", snapshot.revision, last.jurisdiction))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(pb::ListRuleSetsResponse {
        rule_sets,
        next_page_token,
        revision: snapshot.revision,
        store_id: shared.store.store_id().to_owned(),
    })
}

fn list_rule_set_versions(
    shared: &Shared,
    request: pb::ListRuleSetVersionsRequest,
    _: &mut CallFields,
) -> Result<pb::ListRuleSetVersionsResponse, ApiError> {
    if request.jurisdiction.is_empty() {
        return Err(required("jurisdiction"));
    }
    let versions = shared.store.rule_set_versions(&request.jurisdiction)?;
    Ok(pb::ListRuleSetVersionsResponse {
        versions: versions
            .into_iter()
            .map(|record| pb::RuleSetVersionInfo {
                version: record.version,
                revision: record.revision,
                kind: record
                    .kind
                    .map_or(pb::ChangeKind::Unspecified, convert::pb_change_kind)
                    .into(),
                committed_at: record.committed_at.map(convert::to_timestamp),
            })
            .collect(),
        store_id: shared.store.store_id().to_owned(),
    })
}

fn get_country_group(
    shared: &Shared,
    request: pb::GetCountryGroupRequest,
    _: &mut CallFields,
) -> Result<pb::GetCountryGroupResponse, ApiError> {
    if request.name.is_empty() {
        return Err(required("name"));
    }
    let at = if request.at_revision == 0 {
        At::Latest
    } else {
        At::Revision(request.at_revision)
    };
    let (group, revision) = shared.store.group(&request.name, at)?;
    Ok(pb::GetCountryGroupResponse {
        group: Some(pb_country_group(&group.group)),
        version: group.version,
        revision,
        store_id: shared.store.store_id().to_owned(),
    })
}

fn list_country_groups(
    shared: &Shared,
    request: pb::ListCountryGroupsRequest,
    _: &mut CallFields,
) -> Result<pb::ListCountryGroupsResponse, ApiError> {
    let snapshot = shared.store.snapshot_at(request.at_revision)?;
    Ok(pb::ListCountryGroupsResponse {
        groups: snapshot
            .groups
            .values()
            .map(|group| pb::VersionedCountryGroup {
                group: Some(pb_country_group(&group.group)),
                version: group.version,
            })
            .collect(),
        revision: snapshot.revision,
        store_id: shared.store.store_id().to_owned(),
    })
}

fn put_rule_set(
    shared: &Shared,
    request: pb::PutRuleSetRequest,
    fields: &mut CallFields,
) -> Result<pb::PutRuleSetResponse, ApiError> {
    let rule_set = request.rule_set.ok_or_else(|| required("rule_set"))?;
    fields.key = format!("rule_set/{}", rule_set.jurisdiction);
    let result = convert::rule_set(rule_set, "rule_set")
        .map_err(ApiError::Invalid)
        .and_then(|rule_set| {
            shared
                .store
                .put_rule_set(rule_set, request.expected_version, request.validate_only)
                .map_err(under("rule_set"))
        });
    let outcome = record_write(
        shared,
        "put_rule_set",
        fields,
        request.expected_version,
        result,
    )?;
    Ok(pb::PutRuleSetResponse {
        revision: outcome.revision,
        version: outcome.version,
        diff: Some(pb_diff(&outcome.diff)),
        committed: outcome.committed,
        store_id: shared.store.store_id().to_owned(),
    })
}

fn delete_rule_set(
    shared: &Shared,
    request: pb::DeleteRuleSetRequest,
    fields: &mut CallFields,
) -> Result<pb::DeleteRuleSetResponse, ApiError> {
    if request.jurisdiction.is_empty() {
        return Err(required("jurisdiction"));
    }
    fields.key = format!("rule_set/{}", request.jurisdiction);
    let result = shared
        .store
        .delete_rule_set(&request.jurisdiction, request.expected_version)
        .map_err(ApiError::from);
    let outcome = record_write(
        shared,
        "delete_rule_set",
        fields,
        request.expected_version,
        result,
    )?;
    Ok(pb::DeleteRuleSetResponse {
        revision: outcome.revision,
        version: outcome.version,
        diff: Some(pb_diff(&outcome.diff)),
        store_id: shared.store.store_id().to_owned(),
    })
}

fn put_country_group(
    shared: &Shared,
    request: pb::PutCountryGroupRequest,
    fields: &mut CallFields,
) -> Result<pb::PutCountryGroupResponse, ApiError> {
    let group = request.group.ok_or_else(|| required("group"))?;
    fields.key = format!("group/{}", group.name);
    let result = convert::country_group(group, "group")
        .map_err(ApiError::Invalid)
        .and_then(|group| {
            shared
                .store
                .put_group(group, request.expected_version, request.validate_only)
                .map_err(under("group"))
        });
    let outcome = record_write(
        shared,
        "put_country_group",
        fields,
        request.expected_version,
        result,
    )?;
    Ok(pb::PutCountryGroupResponse {
        revision: outcome.revision,
        version: outcome.version,
        diff: Some(pb_diff(&outcome.diff)),
        committed: outcome.committed,
        store_id: shared.store.store_id().to_owned(),
    })
}

#[tonic::async_trait]
impl RuleService for RuleApi {
    async fn get_rule_set(
        &self,
        request: Request<pb::GetRuleSetRequest>,
    ) -> Result<Response<pb::GetRuleSetResponse>, Status> {
        self.0
            .call("GetRuleSet", Access::Read, request, get_rule_set)
            .await
    }

    async fn list_rule_sets(
        &self,
        request: Request<pb::ListRuleSetsRequest>,
    ) -> Result<Response<pb::ListRuleSetsResponse>, Status> {
        self.0
            .call("ListRuleSets", Access::Read, request, list_rule_sets)
            .await
    }

    async fn list_rule_set_versions(
        &self,
        request: Request<pb::ListRuleSetVersionsRequest>,
    ) -> Result<Response<pb::ListRuleSetVersionsResponse>, Status> {
        self.0
            .call(
                "ListRuleSetVersions",
                Access::Read,
                request,
                list_rule_set_versions,
            )
            .await
    }

    async fn get_country_group(
        &self,
        request: Request<pb::GetCountryGroupRequest>,
    ) -> Result<Response<pb::GetCountryGroupResponse>, Status> {
        self.0
            .call("GetCountryGroup", Access::Read, request, get_country_group)
            .await
    }

    async fn list_country_groups(
        &self,
        request: Request<pb::ListCountryGroupsRequest>,
    ) -> Result<Response<pb::ListCountryGroupsResponse>, Status> {
        self.0
            .call(
                "ListCountryGroups",
                Access::Read,
                request,
                list_country_groups,
            )
            .await
    }

    async fn put_rule_set(
        &self,
        request: Request<pb::PutRuleSetRequest>,
    ) -> Result<Response<pb::PutRuleSetResponse>, Status> {
        self.0
            .call("PutRuleSet", Access::Write, request, put_rule_set)
            .await
    }

    async fn delete_rule_set(
        &self,
        request: Request<pb::DeleteRuleSetRequest>,
    ) -> Result<Response<pb::DeleteRuleSetResponse>, Status> {
        self.0
            .call("DeleteRuleSet", Access::Write, request, delete_rule_set)
            .await
    }

    async fn put_country_group(
        &self,
        request: Request<pb::PutCountryGroupRequest>,
    ) -> Result<Response<pb::PutCountryGroupResponse>, Status> {
        self.0
            .call("PutCountryGroup", Access::Write, request, put_country_group)
            .await
    }
}
