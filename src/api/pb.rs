//! Server stubs generated from `proto/`, over the client crate's messages.

tonic::include_proto!("pairing.v1");

/// Descriptors of every `pairing.v1` file, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/pairing_descriptor.bin"));
