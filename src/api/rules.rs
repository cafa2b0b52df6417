//! `RuleService`: reads at any retained revision, CAS writes with validation.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::model::Violation;
use crate::store::{At, StoreError};

use super::auth::Access;
use super::convert::{self, pb_country_group, pb_diff, pb_rule_set};
use super::error::ApiError;
use super::pb;
use super::pb::rule_service_server::RuleService;
use super::state::Shared;

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

/// A page token: the revision listed and the last jurisdiction returned.
fn parse_page_token(token: &str) -> Option<(u64, String)> {
    let (revision, after) = token.split_once(':')?;
    Some((revision.parse().ok()?, after.to_owned()))
}

impl RuleApi {
    fn read(&self, metadata: &tonic::metadata::MetadataMap) -> Result<(), ApiError> {
        self.0.config.auth.check(metadata, Access::Read)
    }

    fn write(&self, metadata: &tonic::metadata::MetadataMap) -> Result<(), ApiError> {
        self.0.config.auth.check(metadata, Access::Write)
    }
}

#[tonic::async_trait]
impl RuleService for RuleApi {
    async fn get_rule_set(
        &self,
        request: Request<pb::GetRuleSetRequest>,
    ) -> Result<Response<pb::GetRuleSetResponse>, Status> {
        self.read(request.metadata())?;
        let request = request.into_inner();
        if request.jurisdiction.is_empty() {
            return Err(required("jurisdiction").into());
        }
        let at = match (request.at_revision, request.version) {
            (0, 0) => At::Latest,
            (revision, 0) => At::Revision(revision),
            (0, version) => At::Version(version),
            _ => {
                return Err(ApiError::Invalid(vec![Violation {
                    path: "version".into(),
                    message: "set at most one of `at_revision` and `version`".into(),
                }])
                .into());
            }
        };
        let (rule_set, revision) = self
            .0
            .store
            .rule_set(&request.jurisdiction, at)
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::GetRuleSetResponse {
            rule_set: Some(pb_rule_set(&rule_set.source)),
            version: rule_set.version,
            revision,
        }))
    }

    async fn list_rule_sets(
        &self,
        request: Request<pb::ListRuleSetsRequest>,
    ) -> Result<Response<pb::ListRuleSetsResponse>, Status> {
        self.read(request.metadata())?;
        let request = request.into_inner();
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
        let snapshot = self.0.store.snapshot_at(revision).map_err(ApiError::from)?;
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
        Ok(Response::new(pb::ListRuleSetsResponse {
            rule_sets,
            next_page_token,
            revision: snapshot.revision,
        }))
    }

    async fn list_rule_set_versions(
        &self,
        request: Request<pb::ListRuleSetVersionsRequest>,
    ) -> Result<Response<pb::ListRuleSetVersionsResponse>, Status> {
        self.read(request.metadata())?;
        let request = request.into_inner();
        if request.jurisdiction.is_empty() {
            return Err(required("jurisdiction").into());
        }
        let versions = self
            .0
            .store
            .rule_set_versions(&request.jurisdiction)
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListRuleSetVersionsResponse {
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
        }))
    }

    async fn get_country_group(
        &self,
        request: Request<pb::GetCountryGroupRequest>,
    ) -> Result<Response<pb::GetCountryGroupResponse>, Status> {
        self.read(request.metadata())?;
        let request = request.into_inner();
        if request.name.is_empty() {
            return Err(required("name").into());
        }
        let at = if request.at_revision == 0 {
            At::Latest
        } else {
            At::Revision(request.at_revision)
        };
        let (group, revision) = self
            .0
            .store
            .group(&request.name, at)
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::GetCountryGroupResponse {
            group: Some(pb_country_group(&group.group)),
            version: group.version,
            revision,
        }))
    }

    async fn list_country_groups(
        &self,
        request: Request<pb::ListCountryGroupsRequest>,
    ) -> Result<Response<pb::ListCountryGroupsResponse>, Status> {
        self.read(request.metadata())?;
        let snapshot = self
            .0
            .store
            .snapshot_at(request.into_inner().at_revision)
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListCountryGroupsResponse {
            groups: snapshot
                .groups
                .values()
                .map(|group| pb::VersionedCountryGroup {
                    group: Some(pb_country_group(&group.group)),
                    version: group.version,
                })
                .collect(),
            revision: snapshot.revision,
        }))
    }

    async fn put_rule_set(
        &self,
        request: Request<pb::PutRuleSetRequest>,
    ) -> Result<Response<pb::PutRuleSetResponse>, Status> {
        self.write(request.metadata())?;
        let request = request.into_inner();
        let rule_set = request.rule_set.ok_or_else(|| required("rule_set"))?;
        let rule_set = convert::rule_set(rule_set, "rule_set").map_err(ApiError::Invalid)?;
        let outcome = self
            .0
            .store
            .put_rule_set(rule_set, request.expected_version, request.validate_only)
            .map_err(under("rule_set"))?;
        Ok(Response::new(pb::PutRuleSetResponse {
            revision: outcome.revision,
            version: outcome.version,
            diff: Some(pb_diff(&outcome.diff)),
            committed: outcome.committed,
        }))
    }

    async fn delete_rule_set(
        &self,
        request: Request<pb::DeleteRuleSetRequest>,
    ) -> Result<Response<pb::DeleteRuleSetResponse>, Status> {
        self.write(request.metadata())?;
        let request = request.into_inner();
        if request.jurisdiction.is_empty() {
            return Err(required("jurisdiction").into());
        }
        let outcome = self
            .0
            .store
            .delete_rule_set(&request.jurisdiction, request.expected_version)
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::DeleteRuleSetResponse {
            revision: outcome.revision,
            version: outcome.version,
            diff: Some(pb_diff(&outcome.diff)),
        }))
    }

    async fn put_country_group(
        &self,
        request: Request<pb::PutCountryGroupRequest>,
    ) -> Result<Response<pb::PutCountryGroupResponse>, Status> {
        self.write(request.metadata())?;
        let request = request.into_inner();
        let group = request.group.ok_or_else(|| required("group"))?;
        let outcome = self
            .0
            .store
            .put_group(
                convert::country_group(group),
                request.expected_version,
                request.validate_only,
            )
            .map_err(under("group"))?;
        Ok(Response::new(pb::PutCountryGroupResponse {
            revision: outcome.revision,
            version: outcome.version,
            diff: Some(pb_diff(&outcome.diff)),
            committed: outcome.committed,
        }))
    }
}
