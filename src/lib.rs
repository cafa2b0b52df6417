//! xborder: a policy decision service for cross-border data flows.
//!
//! Layers, each depending only on those below it: [`model`] (plain types), [`engine`]
//! (pure evaluation) and [`rules_io`] (loading rule files).

pub mod api;
pub mod engine;
pub mod model;
pub mod rules_io;
pub mod store;
