//! How the connection to PostgreSQL is encrypted: libpq's `sslmode` and `sslrootcert` URL
//! parameters, with rustls.
//!
//! tokio-postgres reads neither `verify-ca`, `verify-full` nor `sslrootcert`, so they are
//! taken out of the URL here and the rest is left to it. As with libpq, `prefer` (the default)
//! encrypts when the server offers TLS and verifies nothing; `require` insists on TLS; the two
//! `verify-` modes check the server's certificate against `sslrootcert`, and `verify-full` its
//! host name too. A mode that asks for TLS never falls back to plaintext.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => Mode::Disable,
            // libpq's `allow` tries plaintext first; TLS when offered is no weaker.
            "allow" | "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, \
                     verify-full"
                ));
            }
        })
    }
}

/// A database URL made ready to connect: what tokio-postgres reads, and the TLS connector.
pub struct Connection {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
}

/// Reads `url`, a `postgres://` URL with libpq's parameters; errors say which parameter is
/// wrong and never repeat the password.
pub fn connection(url: &str) -> Result<Connection, String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = Mode::Prefer;
    let mut root_certificate = None;
    let mut kept = Vec::new();
    for parameter in query.split('&').filter(|p| !p.is_empty()) {
        match parameter.split_once('=') {
            Some(("sslmode", value)) => mode = Mode::parse(value)?,
            Some(("sslrootcert", value)) => root_certificate = Some(PathBuf::from(value)),
            _ => kept.push(parameter),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|error| format!("not a usable PostgreSQL URL: {error}"))?;
    config.ssl_mode(match mode {
        Mode::Disable => SslMode::Disable,
        Mode::Prefer => SslMode::Prefer,
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
    });
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, root_certificate) {
        (Mode::VerifyCa | Mode::VerifyFull, None) => {
            return Err(format!(
                "sslmode {} needs sslrootcert=PATH, a PEM file of the CA that signed the \
                 server's certificate",
                if mode == Mode::VerifyCa {
                    "verify-ca"
                } else {
                    "verify-full"
                }
            ));
        }
        (Mode::VerifyCa | Mode::VerifyFull, Some(path)) => {
            let mut roots = rustls::RootCertStore::empty();
            let certificates = CertificateDer::pem_file_iter(&path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|error| format!("sslrootcert {}: {error}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(format!(
                    "sslrootcert {}: holds no usable CA certificate",
                    path.display()
                ));
            }
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|error| format!("sslrootcert {}: {error}", path.display()))?;
            Arc::new(Verify {
                webpki,
                check_host: mode == Mode::VerifyFull,
            })
        }
        (_, _) => Arc::new(EncryptOnly(provider.clone())),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Connection {
        config,
        tls: MakeRustlsConnect::new(tls),
    })
}

/// `verify-ca` and `verify-full`: the certificate chains to `sslrootcert`; for `verify-full`
/// it also names the host connected to.
#[derive(Debug)]
struct Verify {
    webpki: Arc<WebPkiServerVerifier>,
    check_host: bool,
}

impl ServerCertVerifier for Verify {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_host => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `prefer` and `require`: encrypted, with the handshake's signatures checked, but any
/// certificate accepted, as libpq does in those modes.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_sslmode_and_verification_without_a_ca_are_refused_by_name() {
        let Err(error) = connection("postgres://u:secret@db/x?sslmode=verify-everything") else {
            panic!("an unknown sslmode connects");
        };
        assert!(error.contains("sslmode \"verify-everything\""), "{error}");
        assert!(!error.contains("secret"));
        let Err(error) = connection("postgres://u@db/x?sslmode=verify-full") else {
            panic!("verify-full without a CA connects");
        };
        assert!(error.contains("sslrootcert"), "{error}");
    }

    #[test]
    fn modes_that_ask_for_tls_require_it_and_other_parameters_are_kept() {
        let required = connection("postgres://u@db/x?application_name=a&sslmode=require").unwrap();
        assert_eq!(required.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(required.config.get_application_name(), Some("a"));
        let plain = connection("postgres://u@db/x?sslmode=disable").unwrap();
        assert_eq!(plain.config.get_ssl_mode(), SslMode::Disable);
        let default = connection("postgres://u@db/x").unwrap();
        assert_eq!(default.config.get_ssl_mode(), SslMode::Prefer);
    }
}
