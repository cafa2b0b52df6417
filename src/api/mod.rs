//! The gRPC layer: protobuf <-> model conversion, the three services, errors -> `Status`,
//! authentication, and the server that serves them with health and reflection.

pub mod auth;
pub mod convert;
pub mod error;
pub mod pb;
pub mod server;
pub mod state;

mod assessment;
mod rules;
mod watch;

pub use server::{ServeError, serve};
pub use state::ApiConfig;
