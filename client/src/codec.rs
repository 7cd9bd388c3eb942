//! The codec of the generated stubs, the client's and the server's: prost's, except that a
//! message is decoded from the one contiguous slice it arrived in rather than through tonic's
//! `DecodeBuf`, whose every read goes through the `Buf` trait and its length limit. A project
//! of some twenty fields decoded that way took a third less time (docs/RELIABILITY.md).

use std::marker::PhantomData;

use prost::Message;
use prost::bytes::Buf;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::ProstEncoder;

/// Encodes `T` as prost does and decodes `U` from a slice.
#[derive(Debug, Clone, Copy)]
pub struct SliceCodec<T, U>(PhantomData<fn(T) -> U>);

impl<T, U> Default for SliceCodec<T, U> {
    fn default() -> Self {
        SliceCodec(PhantomData)
    }
}

impl<T, U> Codec for SliceCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = SliceDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        SliceDecoder(PhantomData)
    }
}

/// Decodes `U` from the slice of one message.
#[derive(Debug, Clone, Copy)]
pub struct SliceDecoder<U>(PhantomData<fn() -> U>);

impl<U: Message + Default> Decoder for SliceDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let length = buf.remaining();
        let decoded = if buf.chunk().len() == length {
            let decoded = U::decode(buf.chunk());
            buf.advance(length);
            decoded
        } else {
            U::decode(buf.copy_to_bytes(length))
        };
        // As tonic's prost codec answers a message that does not decode.
        decoded
            .map(Some)
            .map_err(|error| Status::internal(error.to_string()))
    }
}
