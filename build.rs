//! Generates the server stubs of `pairing.v1` and the descriptor set served by reflection.
//! Messages come from `pairing-aid-client`, so server and client share one set of types.

use std::path::PathBuf;

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(proto_root.join("pairing/v1"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "proto"));
    files.sort();
    let descriptors = protox::compile(&files, [&proto_root])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("pairing_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(false)
        .codec_path("::pairing_aid_client::codec::SliceCodec")
        // Export chunks are encoded on the heavy-work pool, not by the runtime's stream.
        .extern_path(
            ".pairing.v1.ExportRecordsResponse",
            "crate::api::encoded::EncodedExport",
        )
        .extern_path(".pairing.v1", "::pairing_aid_client::pb::pairing::v1")
        .extern_path(".google.type", "::pairing_aid_client::pb::google::r#type")
        .compile_fds(descriptors)?;
    Ok(())
}
