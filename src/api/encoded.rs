//! Answers encoded before tonic sees them. Export chunks are encoded where they are made, on
//! the heavy-work pool: the runtime, which also serves the light calls, only copies their
//! bytes into the stream. A GetProject answer is written straight from the project found
//! (`convert::wire`), without the protobuf structs prost would build, measure three times and
//! free. The server stubs use these types for the messages named in `build.rs`; clients
//! decode the ordinary messages.

use std::marker::PhantomData;

use prost::bytes::{Buf, BufMut, Bytes};
use prost::encoding::{DecodeContext, WireType, skip_field};

use pairing_aid_client::v1 as pb;

/// A message of type `M`, already encoded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Encoded<M>(Bytes, PhantomData<fn() -> M>);

/// An `ExportRecordsResponse`, already encoded.
pub type EncodedExport = Encoded<pb::ExportRecordsResponse>;

/// A `GetProjectResponse`, already encoded.
pub type EncodedProject = Encoded<pb::GetProjectResponse>;

impl<M> Encoded<M> {
    /// Bytes that encode an `M`: the caller vouches for them (`convert::wire`'s tests hold its
    /// bytes to prost's).
    pub(super) fn from_bytes(bytes: Vec<u8>) -> Self {
        Encoded(bytes.into(), PhantomData)
    }

    /// The bytes of `bytes` from `start` on, which encode an `M` (as `from_bytes`).
    pub(super) fn from_bytes_after(bytes: Vec<u8>, start: usize) -> Self {
        let mut bytes = Bytes::from(bytes);
        bytes.advance(start);
        Encoded(bytes, PhantomData)
    }
}

impl<M: prost::Message> From<&M> for Encoded<M> {
    fn from(message: &M) -> Self {
        Encoded::from_bytes(message.encode_to_vec())
    }
}

impl<M: std::fmt::Debug> prost::Message for Encoded<M> {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }

    /// The server never decodes what it sends: fields are skipped.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0 = Bytes::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_as_the_message_it_was_made_from() {
        let response = pb::ExportRecordsResponse {
            records: vec![pb::Record {
                resource: Some(pb::record::Resource::Party(pb::Party {
                    name: "parties/shanghai".into(),
                    display_name: "Shanghai".into(),
                    ..Default::default()
                })),
            }],
            revision: 7,
        };
        let encoded = prost::Message::encode_to_vec(&EncodedExport::from(&response));
        let decoded: pb::ExportRecordsResponse = prost::Message::decode(&encoded[..]).unwrap();
        assert_eq!(decoded, response);
    }
}
