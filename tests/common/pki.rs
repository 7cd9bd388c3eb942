//! Certificates made for a test: a CA, a server's and a client's, and more on demand.

use pairing_aid_client::Client;

use super::TestServer;

/// PEM certificates and keys signed by one new CA, which can issue more.
pub struct Pki {
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

/// When a certificate [`Pki::issue`] makes is valid.
pub enum Validity {
    /// From a day ago for a year.
    Current,
    /// During 2020 only.
    Expired,
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
        let mut pki = Pki {
            ca: ca.pem(),
            server_cert: String::new(),
            server_key: String::new(),
            client_cert: String::new(),
            client_key: String::new(),
            issuer,
        };
        (pki.server_cert, pki.server_key) =
            pki.issue(&["localhost", "127.0.0.1"], Validity::Current);
        (pki.client_cert, pki.client_key) = pki.issue(&["analyst"], Validity::Current);
        pki
    }

    /// A new certificate for `names` (DNS names, IP addresses, or URIs such as SPIFFE IDs)
    /// and its key, signed by this CA: PEM `(certificate, key)`.
    pub fn issue(&self, names: &[&str], validity: Validity) -> (String, String) {
        use rcgen::{CertificateParams, KeyPair, SanType};
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.subject_alt_names = names
            .iter()
            .map(|name| {
                if let Ok(ip) = name.parse() {
                    SanType::IpAddress(ip)
                } else if name.contains("://") {
                    SanType::URI(name.to_string().try_into().unwrap())
                } else {
                    SanType::DnsName(name.to_string().try_into().unwrap())
                }
            })
            .collect();
        let now = std::time::SystemTime::now();
        let day = std::time::Duration::from_secs(86_400);
        (params.not_before, params.not_after) = match validity {
            Validity::Current => ((now - day).into(), (now + 365 * day).into()),
            Validity::Expired => (
                rcgen::date_time_ymd(2020, 1, 1),
                rcgen::date_time_ymd(2020, 12, 31),
            ),
        };
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        (certificate.pem(), key.serialize_pem())
    }
}

/// Where [`Pki::write_to`] put the PEM files.
pub struct PkiFiles {
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

impl Pki {
    /// Writes the CA and the server's and client's certificates and keys into `dir`.
    pub fn write_to(&self, dir: &std::path::Path) -> PkiFiles {
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            std::fs::write(&path, pem).unwrap();
            path.display().to_string()
        };
        PkiFiles {
            ca: write("ca.pem", &self.ca),
            server_cert: write("server.pem", &self.server_cert),
            server_key: write("server.key", &self.server_key),
            client_cert: write("client.pem", &self.client_cert),
            client_key: write("client.key", &self.client_key),
        }
    }
}

impl PkiFiles {
    /// The server's TLS arguments; with `mutual`, client certificates signed by the CA are
    /// required.
    pub fn server_args(&self, mutual: bool) -> Vec<&str> {
        let mut args = vec![
            "--tls-cert",
            &self.server_cert,
            "--tls-key",
            &self.server_key,
        ];
        if mutual {
            args.extend(["--tls-client-ca", self.ca.as_str()]);
        }
        args
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
