//! Export chunks encoded where they are made, on the heavy-work pool: the runtime, which also
//! serves the light calls, only copies their bytes into the stream. The server stubs use this
//! type for `ExportRecordsResponse` (see `build.rs`); clients decode the ordinary message.

use prost::bytes::{Buf, BufMut, Bytes};
use prost::encoding::{DecodeContext, WireType, skip_field};

use pairing_aid_client::v1 as pb;

/// An `ExportRecordsResponse`, already encoded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncodedExport(Bytes);

impl From<&pb::ExportRecordsResponse> for EncodedExport {
    fn from(response: &pb::ExportRecordsResponse) -> Self {
        EncodedExport(prost::Message::encode_to_vec(response).into())
    }
}

impl prost::Message for EncodedExport {
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
