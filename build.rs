//! Generates the server stubs of `pairing.v1` and the descriptor set served by reflection.
//! Messages come from `pairing-aid-client`, so server and client share one set of types.

use std::path::PathBuf;

use prost::Message as _;
use sha2::{Digest as _, Sha256};

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
        // Export chunks are encoded on the heavy-work pool, not by the runtime's stream; a
        // project's Get answer straight from the project found (src/api/encoded.rs).
        .extern_path(
            ".pairing.v1.ExportRecordsResponse",
            "crate::api::encoded::EncodedExport",
        )
        .extern_path(
            ".pairing.v1.GetProjectResponse",
            "crate::api::encoded::EncodedProject",
        )
        .extern_path(".pairing.v1", "::pairing_aid_client::pb::pairing::v1")
        .extern_path(".google.type", "::pairing_aid_client::pb::google::r#type")
        .compile_fds(descriptors)?;
    digest_model_sources()
}

/// Sets `PAIRING_AID_MODEL_SCHEMA` to a digest of every source file that defines what the
/// read model holds (its tables and the domain types in them) and of the crate's version. A
/// persisted image of the model is read back only by a build with the same digest: one whose
/// types may differ falls back to the full load instead of misreading the bytes.
fn digest_model_sources() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src/query/model", "src/domain"] {
        println!("cargo:rerun-if-changed={dir}");
        collect_sources(&root.join(dir), &mut files)?;
    }
    files.sort();
    let mut digest = Sha256::new();
    digest.update(env!("CARGO_PKG_VERSION"));
    for file in files {
        digest.update(file.strip_prefix(&root)?.to_string_lossy().as_bytes());
        digest.update(std::fs::read(&file)?);
    }
    let hex: String = digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    println!("cargo:rustc-env=PAIRING_AID_MODEL_SCHEMA={hex}");
    Ok(())
}

fn collect_sources(dir: &std::path::Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_sources(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}
