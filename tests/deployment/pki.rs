//! Certificates made for a test: a CA, a server's and a client's.

use pairing_aid_client::Client;

use crate::common::TestServer;

/// PEM certificates and keys signed by one new CA.
pub struct Pki {
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

impl Pki {
    /// A new CA, a server certificate for localhost and 127.0.0.1, and a client certificate.
    pub fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own, so that another test CA is another issuer.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let serial = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ca_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("pairing-aid test CA {} {serial}", std::process::id()),
        );
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let client = CertificateParams::new(vec!["analyst".into()])
            .unwrap()
            .signed_by(&client_key, &issuer)
            .unwrap();
        Pki {
            ca: ca.pem(),
            server_cert: server.pem(),
            server_key: server_key.serialize_pem(),
            client_cert: client.pem(),
            client_key: client_key.serialize_pem(),
        }
    }
}

/// A client of `server`'s TLS port that trusts `ca` and, given a certificate and its key (PEM),
/// presents them.
pub async fn tls_client(
    server: &TestServer,
    ca: &str,
    identity: Option<(&str, &str)>,
) -> Result<Client, String> {
    let mut builder = Client::builder()
        .endpoint(format!("https://{}", server.address))
        .deadline(None)
        .tls_ca_pem(ca)
        .tls_domain("localhost");
    if let Some((certificate, key)) = identity {
        builder = builder.tls_identity(certificate, key);
    }
    builder.connect().await.map_err(|e| e.to_string())
}
