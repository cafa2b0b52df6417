//! The gRPC layer: protobuf <-> model conversion, the three services, errors -> `Status`,
//! authentication, and the server that serves them with health and reflection.

pub mod answer;
pub mod auth;
pub mod convert;
pub mod error;
pub mod logging;
pub mod pb;
pub mod server;
pub mod state;
pub mod telemetry;

mod assessment;
mod rules;
mod watch;

pub use server::{Listeners, ServeError, serve};
pub use state::ApiConfig;
