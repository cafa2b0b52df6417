//! Generated protobuf and gRPC code for `xborder.v1`, kept behind this module so nothing
//! below the API layer sees it.
#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

tonic::include_proto!("xborder.v1");

/// The encoded file descriptor set of `proto/xborder/v1`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("xborder_descriptor");
