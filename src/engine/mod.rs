//! Pure evaluation: `(Snapshot, Flow, time) -> Assessment`. No I/O, no tonic, no tokio, so
//! it can be tested, fuzzed and benchmarked alone.

mod assess;
mod compile;
mod input;
mod snapshot;

pub use assess::{assess, decide};
pub use compile::{CompiledRuleSet, Group, Groups};
pub use input::{FlowError, MAX_TRANSIT};
pub use snapshot::Snapshot;
