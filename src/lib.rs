//! xborder: a policy decision service for cross-border data flows.
//!
//! Layers, each depending only on those below it: [`api`] (gRPC, metrics, auth) ->
//! [`store`] (versioned store, change log, watchers, journal) -> [`engine`] (pure
//! evaluation) -> [`model`] (plain types and validation); [`rules_io`] loads rule files into
//! the model. Generated protobuf types stay inside [`api`].

pub mod api;
pub mod engine;
pub mod model;
pub mod rules_io;
pub mod scenario;
pub mod schema;
pub mod store;
