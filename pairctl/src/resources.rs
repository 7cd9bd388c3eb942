//! Resources as protobuf JSON, the mapping grpcurl and other gRPC tools speak, by way of the
//! descriptors the client crate embeds. What `get -o json` prints, `create` and `update` read.

use std::sync::LazyLock;

use pairing_aid_client::v1::{self, record};
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::Value;

use crate::rows::Row;

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

/// A resource kind that pairctl lists, reads and writes.
pub trait Resource: Message + Row {
    /// The resource from a record, if the record holds this kind.
    fn from_record(record: record::Resource) -> Option<Self>;
    /// Sets the etag an update is conditional on.
    fn set_etag(&mut self, etag: String);
}

macro_rules! resource {
    ($($message:ident => $variant:ident),* $(,)?) => {$(
        impl Message for v1::$message {
            const FULL_NAME: &'static str = concat!("pairing.v1.", stringify!($message));
        }
        impl Resource for v1::$message {
            fn from_record(record: record::Resource) -> Option<Self> {
                match record {
                    record::Resource::$variant(resource) => Some(resource),
                    _ => None,
                }
            }
            fn set_etag(&mut self, etag: String) {
                self.etag = etag;
            }
        }
    )*};
}

resource!(
    Party => Party,
    Area => Area,
    Pairing => Pairing,
    Project => Project,
    Indicator => Indicator,
    Observation => Observation,
);

impl Message for v1::Record {
    const FULL_NAME: &'static str = "pairing.v1.Record";
}
