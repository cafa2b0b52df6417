//! Metric handles resolved once, so counting a call takes no lock and allocates nothing:
//! one histogram and one lazily created counter per gRPC code for each method of the
//! services (their names come from the compiled descriptor set, so none is missed), and one
//! counter per decision and origin country (the origin label is always an ISO code, never a
//! caller's text).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use tonic::Code;

use crate::model::country::SLOTS;
use crate::model::{CountryCode, Decision};

use super::code_name;

/// Labels of `xborder_rpc_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RpcLabels {
    pub(super) method: Cow<'static, str>,
    pub(super) code: &'static str,
}

/// Labels of `xborder_rpc_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct MethodLabels {
    pub(super) method: Cow<'static, str>,
}

/// Labels of `xborder_decisions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct DecisionLabels {
    pub(super) decision: &'static str,
    pub(super) origin: Cow<'static, str>,
}

/// gRPC codes 0 to 16.
const CODES: usize = 17;
const DECISIONS: [Decision; 4] = [
    Decision::Permitted,
    Decision::Conditional,
    Decision::ReviewRequired,
    Decision::Prohibited,
];

struct MethodHandles {
    name: Cow<'static, str>,
    duration: Histogram,
    calls: [OnceLock<Counter>; CODES],
}

/// The resolved handles.
pub(super) struct Handles {
    methods: HashMap<String, MethodHandles>,
    decisions: Box<[OnceLock<Counter>]>,
}

impl std::fmt::Debug for Handles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handles")
            .field("methods", &self.methods.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Handles {
    /// Resolves the histogram of every method of the served services.
    pub(super) fn new(durations: &Family<MethodLabels, Histogram>) -> Self {
        let names: Vec<String> =
            prost_reflect::DescriptorPool::decode(crate::api::pb::FILE_DESCRIPTOR_SET)
                .map(|pool| {
                    pool.services()
                        .flat_map(|service| {
                            service
                                .methods()
                                .map(|method| method.name().to_owned())
                                .collect::<Vec<_>>()
                        })
                        .collect()
                })
                .unwrap_or_default();
        let methods = names
            .into_iter()
            .map(|name| {
                let label: Cow<'static, str> = Cow::Owned(name.clone());
                let duration = durations
                    .get_or_create(&MethodLabels {
                        method: label.clone(),
                    })
                    .clone();
                let handles = MethodHandles {
                    name: label,
                    duration,
                    calls: std::array::from_fn(|_| OnceLock::new()),
                };
                (name, handles)
            })
            .collect();
        Self {
            methods,
            decisions: (0..DECISIONS.len() * SLOTS)
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    /// Counts and times one call of `method` that ended with `code`.
    pub(super) fn call(
        &self,
        calls: &Family<RpcLabels, Counter>,
        durations: &Family<MethodLabels, Histogram>,
        method: &'static str,
        code: Code,
        seconds: f64,
    ) {
        let Some(handles) = self.methods.get(method) else {
            // A method outside the descriptor set (none today): the slower, locked path.
            let method = Cow::Borrowed(method);
            let labels = RpcLabels {
                method: method.clone(),
                code: code_name(code),
            };
            calls.get_or_create(&labels).inc();
            durations
                .get_or_create(&MethodLabels { method })
                .observe(seconds);
            return;
        };
        let slot = (code as usize).min(CODES - 1);
        handles.calls[slot]
            .get_or_init(|| {
                let labels = RpcLabels {
                    method: handles.name.clone(),
                    code: code_name(code),
                };
                calls.get_or_create(&labels).clone()
            })
            .inc();
        handles.duration.observe(seconds);
    }

    /// Counts one decision for a flow leaving `origin` (a code the engine accepted).
    pub(super) fn decision(
        &self,
        decisions: &Family<DecisionLabels, Counter>,
        decision: Decision,
        origin: CountryCode,
    ) {
        let row = DECISIONS.iter().position(|d| *d == decision).unwrap_or(0);
        self.decisions[row * SLOTS + origin.index()]
            .get_or_init(|| {
                let labels = DecisionLabels {
                    decision: decision.as_str(),
                    origin: Cow::Owned(origin.to_string()),
                };
                decisions.get_or_create(&labels).clone()
            })
            .inc();
    }
}
