//! The client crate against the server's TLS and mutual-TLS modes, as a calling service meets
//! them: `https://` turns TLS on, the CA and the client certificate are honoured, and every
//! refusal (wrong CA, the system's roots, an expired certificate on either side, no client
//! certificate) says what is wrong in words a person can act on.

mod common;

use common::TestServer;
use common::pki::{Pki, Validity};
use pairing_aid_client::{Client, ClientBuilder, v1};

/// A server on its own database with the given certificate and key, requiring client
/// certificates signed by `client_ca` if given.
fn tls_server(
    dir: &tempfile::TempDir,
    name: &str,
    (cert, key): (&str, &str),
    client_ca: Option<&str>,
) -> TestServer {
    let path = |file: &str| dir.path().join(format!("{name}-{file}"));
    std::fs::write(path("cert.pem"), cert).unwrap();
    std::fs::write(path("key.pem"), key).unwrap();
    let mut args = vec![
        "--tls-cert".to_owned(),
        path("cert.pem").display().to_string(),
        "--tls-key".to_owned(),
        path("key.pem").display().to_string(),
    ];
    if let Some(ca) = client_ca {
        std::fs::write(path("client-ca.pem"), ca).unwrap();
        args.push("--tls-client-ca".into());
        args.push(path("client-ca.pem").display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestServer::start_on(path("record.db"), &args)
}

fn https(server: &TestServer) -> ClientBuilder {
    let port = server.address.rsplit(':').next().unwrap();
    Client::builder()
        .endpoint(format!("https://localhost:{port}"))
        .retry(pairing_aid_client::RetryPolicy::none())
}

/// What listing the parties gives: their number, or the error as the caller would print it.
async fn parties(builder: ClientBuilder) -> Result<usize, String> {
    let client = builder.connect().await.map_err(|e| e.to_string())?;
    client
        .parties()
        .list_parties(v1::ListPartiesRequest::default())
        .await
        .map(|r| r.into_inner().parties.len())
        .map_err(|status| pairing_aid_client::Error::from(status).to_string())
}

fn assert_refused(outcome: Result<usize, String>, words: &[&str]) {
    let message = outcome.expect_err("the connection is refused");
    for word in words {
        assert!(message.contains(word), "{word:?} not in: {message}");
    }
}

#[tokio::test]
async fn https_uses_tls_and_refuses_a_server_it_cannot_trust() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = tls_server(&dir, "good", (&pki.server_cert, &pki.server_key), None);

    assert_eq!(parties(https(&server).tls_ca_pem(&pki.ca)).await, Ok(19));

    // Without a CA an https:// endpoint trusts the system's roots, which do not know ours.
    assert_refused(
        parties(https(&server)).await,
        &["not signed by a CA this client trusts", "UnknownIssuer"],
    );
    let stranger = Pki::new();
    assert_refused(
        parties(https(&server).tls_ca_pem(&stranger.ca)).await,
        &["not signed by a CA this client trusts"],
    );
    assert_refused(
        parties(
            https(&server)
                .tls_ca_pem(&pki.ca)
                .tls_domain("elsewhere.example"),
        )
        .await,
        &["does not name the host", "not valid for name"],
    );

    let expired = pki.issue(&["localhost"], Validity::Expired);
    let stale = tls_server(&dir, "expired", (&expired.0, &expired.1), None);
    assert_refused(
        parties(https(&stale).tls_ca_pem(&pki.ca)).await,
        &["the server's certificate has expired"],
    );

    // A plaintext URL to a TLS port does not get an answer.
    let plain = Client::builder()
        .endpoint(server.endpoint())
        .retry(pairing_aid_client::RetryPolicy::none());
    assert!(parties(plain).await.is_err());
}

#[tokio::test]
async fn mutual_tls_accepts_a_current_client_certificate_and_explains_each_refusal() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let server = tls_server(
        &dir,
        "mutual",
        (&pki.server_cert, &pki.server_key),
        Some(&pki.ca),
    );
    let trusted = || https(&server).tls_ca_pem(&pki.ca);

    assert_eq!(
        parties(trusted().tls_identity(&pki.client_cert, &pki.client_key)).await,
        Ok(19)
    );
    assert_refused(
        parties(trusted()).await,
        &["the server requires a client certificate"],
    );
    let (cert, key) = pki.issue(&["analyst"], Validity::Expired);
    assert_refused(
        parties(trusted().tls_identity(&cert, &key)).await,
        &["the server refused this client's certificate", "expired"],
    );
    let stranger = Pki::new();
    assert_refused(
        parties(trusted().tls_identity(&stranger.client_cert, &stranger.client_key)).await,
        &[
            "the server refused this client's certificate",
            "not signed by a CA it trusts",
        ],
    );
}

/// Under mutual TLS a service is identified by its certificate: a SPIFFE ID mapped in
/// `--tls-client-roles` writes without a token; a certificate without a mapping is anonymous
/// (reads, no writes) until the file maps it, which takes effect without a restart.
#[tokio::test]
async fn a_client_certificate_mapped_to_a_role_writes_without_a_token() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let roles = dir.path().join("roles");
    std::fs::write(
        &roles,
        "# services by certificate\nspiffe://pairing.test/ns/etl/sa/loader write\n",
    )
    .unwrap();
    let files = pki.write_to(dir.path());
    let roles_path = roles.display().to_string();
    let mut args = files.server_args(true);
    args.extend(["--tls-client-roles", roles_path.as_str()]);
    let server = TestServer::start_on(dir.path().join("record.db"), &args);
    let as_service = async |names: &[&str]| {
        let (cert, key) = pki.issue(names, Validity::Current);
        https(&server)
            .tls_ca_pem(&pki.ca)
            .tls_identity(cert, key)
            .connect()
            .await
            .unwrap()
    };
    let create = async |client: &Client, id: &str| {
        client
            .projects()
            .create_project(common::create_request(id, ""))
            .await
            .map(|_| ())
            .map_err(|status| status.code())
    };

    let loader = as_service(&["spiffe://pairing.test/ns/etl/sa/loader"]).await;
    assert_eq!(create(&loader, "by-certificate").await, Ok(()));
    let stranger = as_service(&["spiffe://pairing.test/ns/other/sa/reporter"]).await;
    assert_eq!(
        create(&stranger, "by-stranger").await,
        Err(pairing_aid_client::tonic::Code::Unauthenticated),
        "an unmapped certificate is anonymous"
    );
    assert_eq!(parties_of(&stranger).await, 19, "anonymous callers read");

    std::fs::write(
        &roles,
        "spiffe://pairing.test/ns/etl/sa/loader write\nreporter.other.svc write\n",
    )
    .unwrap();
    let reporter = as_service(&["reporter.other.svc"]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while create(&reporter, "by-dns-name").await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the changed roles file took effect"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn parties_of(client: &Client) -> usize {
    client
        .parties()
        .list_parties(v1::ListPartiesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .parties
        .len()
}

#[test]
fn a_certificate_roles_file_that_cannot_be_used_refuses_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let malformed = dir.path().join("roles");
    std::fs::write(&malformed, "spiffe://pairing.test/loader writer\n").unwrap();
    let database = dir.path().join("record.db").display().to_string();
    for (roles, expected) in [
        (
            "/nonexistent/roles".to_owned(),
            "--tls-client-roles /nonexistent/roles".to_owned(),
        ),
        (
            malformed.display().to_string(),
            "line 1: role \"writer\" is not read, write or admin".to_owned(),
        ),
    ] {
        let log = common::start_refused(
            &[
                "--database",
                &database,
                "--tls-cert",
                "/nonexistent/cert",
                "--tls-key",
                "/nonexistent/key",
                "--tls-client-ca",
                "/nonexistent/ca",
                "--tls-client-roles",
                &roles,
            ],
            &[],
        );
        assert!(log.contains(&expected), "{expected:?} not in: {log}");
    }
}

/// The connect timeout covers the TLS handshake: a port that accepts TCP connections but
/// never answers (a hung server) fails the connection at the timeout, not never.
#[tokio::test]
async fn a_server_that_never_answers_the_handshake_fails_at_the_connect_timeout() {
    // The kernel completes the TCP handshakes into the backlog; nothing ever reads them.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let outcome = Client::builder()
        .endpoint(format!("https://localhost:{port}"))
        .connect_timeout(std::time::Duration::from_millis(300))
        .connect()
        .await;
    let waited = started.elapsed();
    let error = outcome.err().expect("no connection is made").to_string();
    assert!(
        waited >= std::time::Duration::from_millis(300)
            && waited < std::time::Duration::from_secs(5),
        "failed after {waited:?}: {error}"
    );
    assert!(error.contains("cannot reach the server"), "{error}");
    drop(silent);
}
