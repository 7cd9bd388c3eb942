//! Settings files replaced while the server runs, the way a mounted Secret changes: tokens and
//! the TLS certificate and key take effect within seconds, a broken replacement keeps the old
//! settings in force (said in the log and a metric), and unusable files refuse the start.

mod common;
mod deployment;

use std::time::{Duration, Instant};

use common::TestServer;
use common::pki::{Pki, tls_client};
use common::secret_volume::SecretVolume;
use pairing_aid_client::tonic::Code;
use pairing_aid_client::v1::*;

const FIRST: &str = "office write first-token-0123456789";
const SECOND: &str = "office write second-token-0123456789";

async fn write_with(server: &TestServer, token: &str, id: &str) -> Result<i64, Code> {
    server
        .client(Some(token))
        .await
        .projects()
        .create_project(common::create_request(id, id))
        .await
        .map(|r| r.into_inner().revision)
        .map_err(|s| s.code())
}

/// Waits up to five seconds for `check`; how long it took.
async fn within_seconds(what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what} within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn a_changed_tokens_file_takes_effect_and_a_broken_one_keeps_the_old_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut secret = SecretVolume::new(&dir.path().join("secret"), &[("tokens", FIRST)]);
    let tokens = secret.path("tokens").display().to_string();
    let server = TestServer::start_on(dir.path().join("db"), &["--tokens-file", &tokens]);
    let (first, second) = ("first-token-0123456789", "second-token-0123456789");
    assert!(write_with(&server, first, "rotation-1").await.is_ok());
    assert_eq!(
        write_with(&server, second, "rotation-2").await,
        Err(Code::Unauthenticated)
    );

    // The Secret now holds the second token only: the first stops working.
    secret.publish(&[("tokens", SECOND)]);
    within_seconds("the second token works", async || {
        write_with(&server, second, "rotation-3").await.is_ok()
    })
    .await;
    assert_eq!(
        write_with(&server, first, "rotation-4").await,
        Err(Code::Unauthenticated)
    );
    let reloaded = r#"pairing_aid_config_reloads_total{file="tokens",outcome="reloaded"}"#;
    assert_eq!(server.metric(reloaded), 1.0);

    // A broken file (a malformed line, then a placeholder token) changes nothing.
    let rejected = r#"pairing_aid_config_reloads_total{file="tokens",outcome="rejected"}"#;
    for (broken, count) in [
        ("office write", 1.0),
        ("office write replace-me-with-a-long-random-token", 2.0),
    ] {
        secret.publish(&[("tokens", broken)]);
        assert_eq!(
            server.wait_for_metric(rejected, count, Duration::from_secs(5)),
            count
        );
        assert!(
            write_with(&server, second, &format!("kept-{count}"))
                .await
                .is_ok()
        );
    }
    let logs = server.logs.lock().unwrap().join("\n");
    assert!(logs.contains("kept the tokens in force"), "{logs}");
    assert!(logs.contains("placeholder"), "{logs}");
    assert!(!logs.contains("second-token"), "no token is logged");
}

#[tokio::test]
async fn a_renewed_certificate_serves_new_connections_and_a_mismatched_one_is_refused() {
    let (old, new) = (Pki::new(), Pki::new());
    let dir = tempfile::tempdir().unwrap();
    fn files(pki: &Pki) -> [(&'static str, &str); 2] {
        [("tls.crt", &pki.server_cert), ("tls.key", &pki.server_key)]
    }
    let mut secret = SecretVolume::new(&dir.path().join("tls"), &files(&old));
    let (cert, key) = (
        secret.path("tls.crt").display().to_string(),
        secret.path("tls.key").display().to_string(),
    );
    let server = TestServer::start_on(
        dir.path().join("db"),
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    let lists = async |ca: &str| match tls_client(&server, ca, None).await {
        Ok(client) => client
            .parties()
            .list_parties(ListPartiesRequest::default())
            .await
            .is_ok(),
        Err(_) => false,
    };
    assert!(lists(&old.ca).await);
    assert!(!lists(&new.ca).await);

    secret.publish(&files(&new));
    within_seconds("the renewed certificate is served", async || {
        lists(&new.ca).await
    })
    .await;
    assert!(
        !lists(&old.ca).await,
        "the old certificate is no longer served"
    );

    // A key that does not match the certificate: the renewed pair stays in force.
    secret.publish(&[("tls.crt", &old.server_cert), ("tls.key", &new.server_key)]);
    let rejected = r#"pairing_aid_config_reloads_total{file="tls",outcome="rejected"}"#;
    assert_eq!(
        server.wait_for_metric(rejected, 1.0, Duration::from_secs(5)),
        1.0
    );
    assert!(lists(&new.ca).await);
    let logs = server.logs.lock().unwrap().join("\n");
    assert!(
        logs.contains("the key does not match the certificate"),
        "{logs}"
    );
}

#[test]
fn unusable_tokens_and_certificates_refuse_the_start_naming_the_setting() {
    let pki = Pki::new();
    let other = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    for (name, contents) in [
        ("malformed", "office write"),
        (
            "placeholder",
            "office write replace-me-with-a-long-random-token",
        ),
        ("cert.pem", pki.server_cert.as_str()),
        ("other.key", other.server_key.as_str()),
    ] {
        std::fs::write(path(name), contents).unwrap();
    }
    let base = [
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--database",
    ];
    let db = path("db");
    let (malformed, placeholder, cert, other_key) = (
        path("malformed"),
        path("placeholder"),
        path("cert.pem"),
        path("other.key"),
    );
    let cases: [(Vec<&str>, &str); 5] = [
        (
            vec!["--tokens-file", "/nonexistent/tokens"],
            "--tokens-file /nonexistent/tokens",
        ),
        (
            vec!["--tokens-file", &malformed],
            "expected `SUBJECT ROLE TOKEN`",
        ),
        (vec!["--tokens-file", &placeholder], "placeholder"),
        (
            vec!["--tls-cert", &cert, "--tls-key", &other_key],
            "the key does not match the certificate",
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", "/nonexistent/key"],
            "--tls-key /nonexistent/key",
        ),
    ];
    for (extra, expected) in cases {
        let args: Vec<&str> = base
            .iter()
            .copied()
            .chain([db.as_str()])
            .chain(extra)
            .collect();
        let log = common::start_refused(&args, &[]);
        assert!(
            log.contains(expected),
            "{args:?}: expected {expected:?} in {log}"
        );
    }
    let from_environment = common::start_refused(
        &base
            .iter()
            .copied()
            .chain([db.as_str()])
            .collect::<Vec<_>>(),
        &[(
            "PAIRING_AID_TOKENS",
            "office write changeme-0123456789abcdef",
        )],
    );
    assert!(
        from_environment.contains("PAIRING_AID_TOKENS"),
        "{from_environment}"
    );
}
