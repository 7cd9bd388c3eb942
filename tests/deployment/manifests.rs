//! The Kubernetes manifests as `kubectl kustomize` renders them, with Secrets generated from
//! files the test writes (the repository commits none).

use std::process::Command;

use serde_norway::Value;

/// Renders `overlay` from a copy of `deploy/` with `secrets` (file name and contents) in its
/// `secrets/` directory and `components` added; `None` without kubectl outside CI.
pub fn render(overlay: &str, secrets: &[(&str, &str)], components: &[&str]) -> Option<Vec<Value>> {
    let copy = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy"))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let dir = copy.path().join("deploy/overlays").join(overlay);
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    for (name, contents) in secrets {
        std::fs::write(dir.join("secrets").join(name), contents).unwrap();
    }
    if !components.is_empty() {
        let mut kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
        kustomization += "components:\n";
        for component in components {
            kustomization += &format!("  - ../../components/{component}\n");
        }
        std::fs::write(dir.join("kustomization.yaml"), kustomization).unwrap();
    }
    let output = match Command::new("kubectl").arg("kustomize").arg(&dir).output() {
        Ok(output) => output,
        Err(error) if crate::common::in_ci() => panic!("kubectl is required under CI: {error}"),
        Err(_) => {
            eprintln!("skipping: kubectl not found");
            return None;
        }
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    Some(
        serde_norway::Deserializer::from_str(&text)
            .map(|document| serde::Deserialize::deserialize(document).unwrap())
            .collect(),
    )
}

/// The one object of `kind`.
pub fn find<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    let mut found = documents.iter().filter(|d| d["kind"] == kind);
    let first = found.next().unwrap_or_else(|| panic!("a {kind}"));
    assert!(found.next().is_none(), "one {kind}");
    first
}

/// The workload's pod template spec.
pub fn pod_spec(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]
}

/// The strings of a YAML sequence.
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A key of a rendered Secret, decoded.
pub fn secret_value(secret: &Value, key: &str) -> String {
    use base64::Engine as _;
    let encoded = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("secret key {key}"));
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap()
}

/// The entrypoint of the image `deploy/Dockerfile` builds.
pub fn image_entrypoint() -> String {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/Dockerfile")).unwrap();
    let line = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("ENTRYPOINT "))
        .expect("an ENTRYPOINT");
    let entrypoint: Vec<String> = serde_json::from_str(line).expect("ENTRYPOINT in exec form");
    assert_eq!(entrypoint.len(), 1, "the binary alone: {entrypoint:?}");
    entrypoint[0].clone()
}
