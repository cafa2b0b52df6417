//! Metrics (Prometheus text format) and the one log line per RPC.
//!
//! Every RPC handler runs inside [`Telemetry::observe`]: it counts the call by method and
//! status code, times it, and logs one line with the method, `request_id`, decision, code
//! and latency (and for writes the key, old and new version, and which token was used —
//! never the token itself).

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tonic::{Code, Status};

use crate::api::logging::LogDrops;
mod handles;

use handles::{DecisionLabels, Handles, MethodLabels, RpcLabels};

use crate::engine::Snapshot;
use crate::model::{CountryCode, Decision};
use crate::store::Freshness;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JurisdictionLabels {
    jurisdiction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EntryLabels {
    kind: &'static str,
    name: String,
}

/// What one call learned about itself, for its log line.
#[derive(Debug, Default)]
pub struct CallFields {
    /// The request's `request_id` (assessments).
    pub request_id: String,
    /// The decision (assessments).
    pub decision: Option<&'static str>,
    /// The entry written (writes).
    pub key: String,
    /// Its version before the write (writes).
    pub old_version: Option<u64>,
    /// Its version after the write (writes).
    pub new_version: Option<u64>,
    /// Which configured token authorised the call (`admin`, `read`), never the token.
    pub token_id: Option<&'static str>,
}

/// The service's metrics.
#[derive(Debug)]
pub struct Telemetry {
    registry: Registry,
    rpcs: Family<RpcLabels, Counter>,
    rpc_seconds: Family<MethodLabels, Histogram>,
    handles: Handles,
    assessment_seconds: Histogram,
    decisions: Family<DecisionLabels, Counter>,
    writes: Family<WriteLabels, Counter>,
    events_delivered: Counter,
    open_watch_streams: Gauge,
    revision: Gauge,
    etcd_up: Gauge,
    replica_lag: Gauge,
    versions: Family<EntryLabels, Gauge>,
    review_age: Family<JurisdictionLabels, Gauge<f64, AtomicU64>>,
    log_dropped: Counter,
    log_drops: Option<LogDrops>,
    /// Serialises renders (gauges are set from the snapshot, then encoded); holds the log
    /// drops already added to `log_dropped`.
    render_lock: Mutex<u64>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new(None)
    }
}

/// The name of a gRPC code, as the label value and log field.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

impl Telemetry {
    /// Registers every metric; `log_drops` is the log queue's drop counter, if logging
    /// goes through one.
    pub fn new(log_drops: Option<LogDrops>) -> Self {
        let mut registry = Registry::default();
        let rpcs = Family::<RpcLabels, Counter>::default();
        registry.register(
            "xborder_rpc_requests",
            "RPCs by method and gRPC status code",
            rpcs.clone(),
        );
        let rpc_seconds = Family::<MethodLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_01, 2.0, 22))
        });
        registry.register(
            "xborder_rpc_duration_seconds",
            "RPC handling time (for streams: until the stream opens)",
            rpc_seconds.clone(),
        );
        let assessment_seconds = Histogram::new(exponential_buckets(0.000_000_1, 2.0, 24));
        registry.register(
            "xborder_assessment_duration_seconds",
            "Time the engine takes to assess one flow",
            assessment_seconds.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "xborder_decisions",
            "Assessment decisions by decision and origin",
            decisions.clone(),
        );
        let writes = Family::<WriteLabels, Counter>::default();
        registry.register(
            "xborder_writes",
            "Write RPCs by operation and outcome",
            writes.clone(),
        );
        let events_delivered = Counter::default();
        registry.register(
            "xborder_watch_events_delivered",
            "Change events sent on watch streams",
            events_delivered.clone(),
        );
        let open_watch_streams = Gauge::default();
        registry.register(
            "xborder_open_watch_streams",
            "Watch streams open now",
            open_watch_streams.clone(),
        );
        let revision = Gauge::default();
        registry.register(
            "xborder_store_revision",
            "Head revision of the rule store",
            revision.clone(),
        );
        let etcd_up = Gauge::default();
        registry.register(
            "xborder_etcd_up",
            "1 while etcd answered within --max-staleness (with --store etcd; 0 without etcd)",
            etcd_up.clone(),
        );
        let replica_lag = Gauge::default();
        registry.register(
            "xborder_replica_lag_revisions",
            "Revisions the shared log has that this replica has not installed (with --store etcd)",
            replica_lag.clone(),
        );
        let versions = Family::<EntryLabels, Gauge>::default();
        registry.register(
            "xborder_entry_version",
            "Version of each rule set and country group",
            versions.clone(),
        );
        let review_age = Family::<JurisdictionLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "xborder_rules_review_age_days",
            "Days since each rule set's reviewed_on (+Inf when it names none), so regimes nobody re-read for a year stand out",
            review_age.clone(),
        );
        let log_dropped = Counter::default();
        registry.register(
            "xborder_log_lines_dropped",
            "Log lines dropped because the log queue was full (stderr slower than the lines)",
            log_dropped.clone(),
        );
        let handles = Handles::new(&rpc_seconds);
        Self {
            registry,
            handles,
            review_age,
            log_dropped,
            log_drops,
            rpcs,
            rpc_seconds,
            assessment_seconds,
            decisions,
            writes,
            events_delivered,
            open_watch_streams,
            revision,
            etcd_up,
            replica_lag,
            versions,
            render_lock: Mutex::new(0),
        }
    }

    /// Runs one RPC handler: counts, times and logs it.
    pub async fn observe<T, F>(&self, method: &'static str, handler: F) -> Result<T, Status>
    where
        F: Future<Output = (Result<T, Status>, CallFields)>,
    {
        let started = Instant::now();
        let (result, fields) = handler.await;
        let elapsed = started.elapsed();
        let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
        let code_name = code_name(code);
        self.handles.call(
            &self.rpcs,
            &self.rpc_seconds,
            method,
            code,
            elapsed.as_secs_f64(),
        );
        tracing::info!(
            method,
            code = code_name,
            latency_us = elapsed.as_micros() as u64,
            request_id = fields.request_id.as_str(),
            decision = fields.decision,
            key = fields.key.as_str(),
            old_version = fields.old_version,
            new_version = fields.new_version,
            token_id = fields.token_id,
            "rpc"
        );
        result
    }

    /// Records one assessment of a flow leaving `origin`.
    pub fn assessed(&self, seconds: f64, decision: Decision, origin: CountryCode) {
        self.assessment_seconds.observe(seconds);
        self.handles.decision(&self.decisions, decision, origin);
    }

    /// Records the outcome of a write.
    pub fn wrote(&self, operation: &'static str, outcome: &'static str) {
        self.writes
            .get_or_create(&WriteLabels { operation, outcome })
            .inc();
    }

    /// Records a change event sent on a watch stream.
    pub fn delivered(&self) {
        self.events_delivered.inc();
    }

    /// The metrics in the Prometheus text format, with the store gauges read from `snapshot`.
    pub fn render(
        &self,
        snapshot: &Snapshot,
        open_watch_streams: usize,
        freshness: Option<Freshness>,
    ) -> String {
        let mut counted_drops = self
            .render_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(drops) = &self.log_drops {
            let dropped = drops.dropped();
            self.log_dropped
                .inc_by(dropped.saturating_sub(*counted_drops));
            *counted_drops = dropped.max(*counted_drops);
        }
        self.revision
            .set(i64::try_from(snapshot.revision).unwrap_or(i64::MAX));
        self.open_watch_streams
            .set(i64::try_from(open_watch_streams).unwrap_or(i64::MAX));
        let freshness = freshness.unwrap_or(Freshness {
            source_up: false,
            lag: 0,
        });
        self.etcd_up.set(i64::from(freshness.source_up));
        self.replica_lag
            .set(i64::try_from(freshness.lag).unwrap_or(i64::MAX));
        self.versions.clear();
        let entries = snapshot
            .rule_sets
            .iter()
            .map(|(name, rule_set)| ("rule_set", name, rule_set.version))
            .chain(
                snapshot
                    .groups
                    .iter()
                    .map(|(name, group)| ("group", name, group.version)),
            );
        for (kind, name, version) in entries {
            let labels = EntryLabels {
                kind,
                name: name.clone(),
            };
            self.versions
                .get_or_create(&labels)
                .set(i64::try_from(version).unwrap_or(i64::MAX));
        }
        self.review_age.clear();
        let today = jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date();
        for (jurisdiction, rule_set) in &snapshot.rule_sets {
            let age = rule_set
                .source
                .review_age_days(today)
                .map_or(f64::INFINITY, f64::from);
            let labels = JurisdictionLabels {
                jurisdiction: jurisdiction.clone(),
            };
            self.review_age.get_or_create(&labels).set(age);
        }
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "cannot encode metrics");
        }
        text
    }
}
