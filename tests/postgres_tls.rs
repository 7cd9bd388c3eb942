//! The connection to PostgreSQL over TLS: libpq's `sslmode` in the database URL, against a
//! PostgreSQL this test starts with a certificate it made, which accepts TLS connections only.

mod common;

use common::own_postgres::{OwnPostgres, ServerTls};
use common::{TestServer, WRITE_TOKEN, create_request};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

/// A CA: its certificate (PEM) and what signs with it.
fn certificate_authority() -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let certificate = params.self_signed(&key).unwrap();
    (certificate.pem(), Issuer::new(params, key))
}

fn server_args(url: &str) -> Vec<&str> {
    vec![
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--database",
        url,
    ]
}

#[tokio::test]
async fn sslmode_require_and_verify_connect_and_a_certificate_that_does_not_verify_is_refused() {
    let (ca, issuer) = certificate_authority();
    let (other_ca, _) = certificate_authority();
    // The certificate names the host `localhost` only, not the address 127.0.0.1.
    let server_key = KeyPair::generate().unwrap();
    let certificate = CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let Some(postgres) = OwnPostgres::start(Some(ServerTls {
        certificate: &certificate.pem(),
        key: &server_key.serialize_pem(),
    })) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    let other_ca_file = dir.path().join("other-ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    std::fs::write(&other_ca_file, &other_ca).unwrap();
    let ca_file = ca_file.display().to_string();
    let other_ca_file = other_ca_file.display().to_string();
    let by_name = |parameters: &str| postgres.url(parameters).replace("127.0.0.1", "localhost");

    // require: encrypted (this PostgreSQL accepts nothing else), the first start loads the
    // demo data, and writes are committed.
    let server = TestServer::start_on(postgres.url("sslmode=require"), &common::token_args());
    let created = server
        .client(Some(WRITE_TOKEN))
        .await
        .projects()
        .create_project(create_request("over-tls", "tls-1"))
        .await
        .unwrap();
    assert!(created.into_inner().revision > 0);
    drop(server);

    // verify-full against the host name the certificate carries, and verify-ca against the
    // address (the chain is checked, the name is not).
    for url in [
        by_name(&format!("sslmode=verify-full&sslrootcert={ca_file}")),
        postgres.url(&format!("sslmode=verify-ca&sslrootcert={ca_file}")),
    ] {
        let server = TestServer::start_on(&url, &[]);
        let parties = server
            .client(None)
            .await
            .parties()
            .list_parties(pairing_aid_client::v1::ListPartiesRequest::default())
            .await;
        assert!(parties.is_ok(), "{url}: {parties:?}");
    }

    // Refused at start, saying why: another CA, a name the certificate does not carry,
    // plaintext where the server wants TLS, an sslmode libpq does not know.
    let refusals = [
        (
            by_name(&format!("sslmode=verify-full&sslrootcert={other_ca_file}")),
            // Both test CAs carry rcgen's default name, so the chain is found and its
            // signature does not verify.
            "invalid peer certificate: BadSignature",
        ),
        (
            postgres.url(&format!("sslmode=verify-full&sslrootcert={ca_file}")),
            r#"certificate not valid for name "127.0.0.1""#,
        ),
        (postgres.url("sslmode=disable"), "no encryption"),
        (
            postgres.url("sslmode=verify"),
            r#"sslmode "verify" is not one of"#,
        ),
        (postgres.url("sslmode=verify-full"), "needs sslrootcert"),
    ];
    for (url, reason) in refusals {
        let log = common::start_refused(&server_args(&url), &[]);
        assert!(log.contains(reason), "{url}: expected {reason:?} in {log}");
        assert!(
            log.contains("--database"),
            "the error names the setting: {log}"
        );
    }
}
