//! The gRPC layer: protobuf <-> model conversion, the three services, errors -> `Status`,
//! authentication, and the server that serves them with health and reflection.

pub mod pb;
