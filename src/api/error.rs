//! One table from every error of the layers below to a gRPC status with details.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::engine::FlowError;
use crate::model::Violation;
use crate::store::StoreError;
use crate::store::watch::WatchError;

/// Domain of `ErrorInfo` details.
const DOMAIN: &str = "xborder";

/// Why an RPC failed, before it becomes a [`Status`].
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Request fields are invalid; each violation names its field path.
    #[error("invalid request")]
    Invalid(Vec<Violation>),
    /// A store read or write failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The flow could not be assessed.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// A watch stream ended.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Credentials that do not allow this call.
    #[error("{0}")]
    PermissionDenied(String),
    /// A limit was reached.
    #[error("{0}")]
    ResourceExhausted(String),
    /// A resumed watch expected another store's history.
    #[error(
        "the store has changed: this server's store is {actual}, the stream being resumed came from {expected}; start a new watch (its history is not the one resumed)"
    )]
    StoreChanged {
        /// The `expect_store_id` sent.
        expected: String,
        /// This server's store id.
        actual: String,
    },
    /// The server is shutting down and takes no new streams.
    #[error("the server is shutting down: reconnect to another replica")]
    Draining,
}

fn bad_request(message: &str, violations: &[Violation]) -> Status {
    let details = ErrorDetails::with_bad_request(
        violations
            .iter()
            .map(|violation| FieldViolation::new(&violation.path, &violation.message))
            .collect::<Vec<_>>(),
    );
    let listed = violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    Status::with_error_details(
        Code::InvalidArgument,
        format!("{message}: {listed}"),
        details,
    )
}

fn info(code: Code, message: String, reason: &str, metadata: &[(&str, &dyn ToString)]) -> Status {
    let metadata: HashMap<String, String> = metadata
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.to_string()))
        .collect();
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, DOMAIN, metadata),
    )
}

/// An error as one answer of the `AssessFlows` stream: the same code, message and field
/// violations the status of a unary call would carry, so the stream goes on.
impl From<ApiError> for crate::api::pb::AssessmentError {
    fn from(error: ApiError) -> Self {
        let status = Status::from(error);
        let field_violations = status
            .get_details_bad_request()
            .map(|bad| bad.field_violations)
            .unwrap_or_default()
            .into_iter()
            .map(|violation| crate::api::pb::FieldViolation {
                field: violation.field,
                description: violation.description,
            })
            .collect();
        Self {
            code: status.code() as i32,
            message: status.message().to_owned(),
            field_violations,
        }
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let message = error.to_string();
        match error {
            ApiError::Invalid(violations) => bad_request("invalid request", &violations),
            ApiError::Flow(FlowError::Invalid(violations)) => {
                bad_request("invalid flow", &violations)
            }
            ApiError::Store(StoreError::Invalid { key, violations }) => {
                bad_request(&format!("invalid {key}"), &violations)
            }
            ApiError::Store(StoreError::NotFound { .. } | StoreError::VersionNotFound { .. }) => {
                Status::not_found(message)
            }
            ApiError::Store(StoreError::Conflict {
                expected, current, ..
            }) => info(
                Code::Aborted,
                message,
                "VERSION_CONFLICT",
                &[
                    ("expected_version", &expected),
                    ("current_version", &current),
                ],
            ),
            ApiError::Store(StoreError::Compacted { requested, oldest }) => info(
                Code::OutOfRange,
                message,
                "REVISION_COMPACTED",
                &[
                    ("requested_revision", &requested),
                    ("oldest_revision", &oldest),
                ],
            ),
            ApiError::Store(StoreError::FutureRevision { requested, head }) => info(
                Code::OutOfRange,
                message,
                "REVISION_IN_FUTURE",
                &[("requested_revision", &requested), ("head_revision", &head)],
            ),
            ApiError::Store(StoreError::OutOfOrder { .. }) => Status::failed_precondition(message),
            ApiError::Store(StoreError::Journal(_) | StoreError::Superseded { .. }) => {
                Status::unavailable(message)
            }
            ApiError::Watch(WatchError::Compacted {
                resume_from,
                oldest,
            }) => info(
                Code::OutOfRange,
                message,
                "WATCHER_COMPACTED",
                &[("resume_from", &resume_from), ("oldest_revision", &oldest)],
            ),
            ApiError::Watch(WatchError::Closed) => Status::unavailable(message),
            ApiError::Unauthenticated(_) => Status::unauthenticated(message),
            ApiError::PermissionDenied(_) => Status::permission_denied(message),
            ApiError::ResourceExhausted(_) => Status::resource_exhausted(message),
            ApiError::StoreChanged { expected, actual } => info(
                Code::FailedPrecondition,
                message,
                "STORE_CHANGED",
                &[("expected_store_id", &expected), ("store_id", &actual)],
            ),
            ApiError::Draining => Status::unavailable(message),
        }
    }
}
