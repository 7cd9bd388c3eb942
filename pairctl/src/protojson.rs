//! Messages as protobuf JSON, the mapping grpcurl and other gRPC tools speak, by way of the
//! descriptors the client crate embeds. What `get -o json` prints, `create` and `update` read;
//! what `export` writes and `import` reads back.

use std::sync::LazyLock;

use pairing_aid_client::v1;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::Value;

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(pairing_aid_client::FILE_DESCRIPTOR_SET)
        .expect("the client crate embeds a valid descriptor set")
});

/// A message with a protobuf JSON form.
pub trait Message: prost::Message + Default {
    /// The message's full protobuf name.
    const FULL_NAME: &'static str;

    /// The message as protobuf JSON, default fields left out.
    fn to_json(&self) -> Value {
        let descriptor = POOL
            .get_message_by_name(Self::FULL_NAME)
            .expect("every message is in the descriptor set");
        let dynamic = DynamicMessage::decode(descriptor, self.encode_to_vec().as_slice())
            .expect("a message decodes as its own descriptor");
        dynamic
            .serialize_with_options(
                serde_json::value::Serializer,
                &SerializeOptions::new().stringify_64_bit_integers(false),
            )
            .expect("protobuf JSON serializes")
    }

    /// The message a protobuf JSON value describes, or what is wrong with it.
    fn from_json(value: Value) -> Result<Self, String> {
        let descriptor = POOL
            .get_message_by_name(Self::FULL_NAME)
            .expect("every message is in the descriptor set");
        let dynamic = DynamicMessage::deserialize(descriptor, value).map_err(|e| e.to_string())?;
        Self::decode(prost::Message::encode_to_vec(&dynamic).as_slice()).map_err(|e| e.to_string())
    }
}

macro_rules! message {
    ($($message:ident),* $(,)?) => {$(
        impl Message for v1::$message {
            const FULL_NAME: &'static str = concat!("pairing.v1.", stringify!($message));
        }
    )*};
}

message!(
    Party,
    Area,
    Pairing,
    Project,
    Indicator,
    Observation,
    Record,
    Change,
    ResourceRevision,
);
