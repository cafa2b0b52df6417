//! JSON in and out: the canonical protobuf JSON mapping (what `buf curl` and grpcurl print
//! and take), through the service's own descriptors. The CLI has one JSON shape, the
//! API's, and no copy of the model.

use std::sync::LazyLock;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

use xborder::api::pb;

use crate::client::CliError;

static POOL: LazyLock<Result<DescriptorPool, String>> = LazyLock::new(|| {
    DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).map_err(|error| error.to_string())
});

fn descriptor(name: &str) -> Result<MessageDescriptor, String> {
    let pool = POOL.as_ref().map_err(Clone::clone)?;
    pool.get_message_by_name(&format!("xborder.v1.{name}"))
        .ok_or_else(|| format!("no message xborder.v1.{name} in the service's descriptors"))
}

/// `message` (of the proto type `xborder.v1.<name>`) in the protobuf JSON mapping, on one line.
pub fn to_json<M: prost::Message>(message: &M, name: &str) -> Result<String, CliError> {
    let encode = || -> Result<String, String> {
        let dynamic = DynamicMessage::decode(descriptor(name)?, message.encode_to_vec().as_slice())
            .map_err(|error| error.to_string())?;
        let mut serializer = serde_json::Serializer::new(Vec::new());
        dynamic
            .serialize_with_options(&mut serializer, &SerializeOptions::new())
            .map_err(|error| error.to_string())?;
        String::from_utf8(serializer.into_inner()).map_err(|error| error.to_string())
    };
    encode().map_err(|error| CliError::File(format!("cannot render {name} as JSON: {error}")))
}

/// Reads `text` as the protobuf JSON mapping of `xborder.v1.<name>` (field names in
/// lowerCamelCase or as in the proto file).
pub fn from_json<M: prost::Message + Default>(text: &str, name: &str) -> Result<M, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let dynamic = DynamicMessage::deserialize(descriptor(name)?, &mut deserializer)
        .map_err(|error| error.to_string())?;
    deserializer.end().map_err(|error| error.to_string())?;
    M::decode(dynamic.encode_to_vec().as_slice()).map_err(|error| error.to_string())
}
