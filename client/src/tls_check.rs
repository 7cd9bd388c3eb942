//! A check, when a client connects to one TLS server, that the server accepts this client.
//!
//! Under TLS 1.3 the client's side of the handshake ends before the server has judged the
//! client's certificate, so a server that refuses it (none given, expired, from another CA)
//! says so in an alert that arrives after the connection looked made. Whether the first call
//! then reports that alert or only "connection closed" is a race inside the HTTP/2 client.
//! This check makes one TLS connection with the same settings, sends the HTTP/2 preface and
//! reads the server's first bytes: its SETTINGS if it accepted the client, else the alert,
//! which becomes an error naming the reason.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::Error;
use crate::error::causes;

/// What the check connects with: the client's TLS settings as PEM.
pub(crate) struct TlsCheck<'a> {
    pub ca_pem: Option<&'a [u8]>,
    pub native_roots: bool,
    pub identity_pem: Option<(&'a [u8], &'a [u8])>,
    pub server_name: &'a str,
    pub address: &'a str,
    pub timeout: Duration,
}

/// The HTTP/2 client preface and an empty SETTINGS frame, which a server answers with its own.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

impl TlsCheck<'_> {
    pub(crate) async fn run(&self) -> Result<(), Error> {
        let refused = |why: String| Error::Handshake(why);
        let config = Arc::new(self.client_config()?);
        let name = ServerName::try_from(self.server_name.to_owned())
            .map_err(|e| Error::Config(format!("TLS server name `{}`: {e}", self.server_name)))?;
        let exchange = async {
            let tcp = tokio::net::TcpStream::connect(self.address).await?;
            let mut tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await?;
            tls.write_all(PREFACE).await?;
            tls.flush().await?;
            let mut first = [0u8; 9];
            tls.read(&mut first).await
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(0)) => Err(refused(
                "the server closed the TLS connection without a word".into(),
            )),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(refused(causes(&error))),
            // A slow server is not a refusal: the calls will meet their own deadlines.
            Err(_) => Ok(()),
        }
    }

    fn client_config(&self) -> Result<rustls::ClientConfig, Error> {
        let unusable = |what: &str, e: &dyn std::fmt::Display| {
            Error::Config(format!("the TLS {what} cannot be used: {e}"))
        };
        let mut roots = rustls::RootCertStore::empty();
        if let Some(pem) = self.ca_pem {
            for certificate in CertificateDer::pem_slice_iter(pem) {
                let certificate = certificate.map_err(|e| unusable("CA", &e))?;
                roots.add(certificate).map_err(|e| unusable("CA", &e))?;
            }
        }
        if self.native_roots || self.ca_pem.is_none() {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| unusable("configuration", &e))?
        .with_root_certificates(roots);
        let mut config = match self.identity_pem {
            Some((certificate, key)) => {
                let chain = CertificateDer::pem_slice_iter(certificate)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| unusable("client certificate", &e))?;
                let key =
                    PrivateKeyDer::from_pem_slice(key).map_err(|e| unusable("client key", &e))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| unusable("client certificate", &e))?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(config)
    }
}
