//! The gRPC port's TLS settings, read from PEM files that may be replaced while the server runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::config::Config;

/// The files TLS is configured from: `--tls-cert`, `--tls-key` and, for mutual TLS,
/// `--tls-client-ca`.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
}

impl TlsFiles {
    /// The files `config` names, if TLS is on.
    pub fn of(config: &Config) -> Option<Self> {
        Some(TlsFiles {
            cert: config.tls_cert.clone()?,
            key: config.tls_key.clone()?,
            client_ca: config.tls_client_ca.clone(),
        })
    }

    /// Every file the settings are read from, to watch for changes.
    pub fn paths(&self) -> Vec<PathBuf> {
        [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }

    /// Whether clients must present a certificate.
    pub fn is_mutual(&self) -> bool {
        self.client_ca.is_some()
    }

    /// Reads and checks the files; an error names the setting and the file at fault.
    pub fn server_config(&self) -> anyhow::Result<rustls::ServerConfig> {
        let chain = certificates(&self.cert, "--tls-cert")?;
        let key = PrivateKeyDer::from_pem_file(&self.key).with_context(|| {
            format!(
                "--tls-key {}: no PEM private key could be read",
                self.key.display()
            )
        })?;
        let builder = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let mut roots = rustls::RootCertStore::empty();
                for certificate in certificates(path, "--tls-client-ca")? {
                    roots.add(certificate).with_context(|| {
                        format!("--tls-client-ca {}: not a CA certificate", path.display())
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::new(rustls::crypto::ring::default_provider()),
                )
                .build()
                .with_context(|| format!("--tls-client-ca {}", path.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(chain, key).with_context(|| {
            format!(
                "--tls-cert {} and --tls-key {}: the key does not match the certificate, or \
                 one of them is unusable",
                self.cert.display(),
                self.key.display()
            )
        })?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(config)
    }
}

/// The PEM certificates in `path`, at least one.
fn certificates(path: &Path, setting: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| format!("{setting} {}: not readable as PEM", path.display()))?;
    if chain.is_empty() {
        bail!("{setting} {}: holds no PEM certificate", path.display());
    }
    Ok(chain)
}
