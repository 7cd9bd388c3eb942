//! Connection settings: the builder, and the token and default deadline every call carries.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use tonic::codegen::http;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::channel::ServerChannel;
use crate::discovery;
use crate::target::{DnsTarget, Target};
use crate::tls_check::TlsCheck;
use crate::{Client, Error, RetryPolicy};

/// Adds the bearer token and the default deadline to every call.
#[derive(Clone, Default)]
pub struct CallSettings {
    authorization: Option<MetadataValue<Ascii>>,
    /// The `grpc-timeout` of the default deadline, written once rather than on every call.
    deadline: Option<MetadataValue<Ascii>>,
}

/// `deadline` as a `grpc-timeout` value: at most eight digits in the finest unit they fit,
/// truncated, as the gRPC HTTP/2 protocol asks and tonic's `Request::set_timeout` writes.
fn grpc_timeout(deadline: Duration) -> MetadataValue<Ascii> {
    const UNITS: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    let nanos = deadline.as_nanos();
    let (count, unit) = UNITS
        .iter()
        .map(|&(nanos_per_unit, unit)| (nanos / nanos_per_unit, unit))
        .find(|&(count, _)| count <= 99_999_999)
        .unwrap_or((99_999_999, 'H'));
    format!("{count}{unit}")
        .parse()
        .expect("digits and a letter are valid header text")
}

impl Interceptor for CallSettings {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(authorization) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", authorization.clone());
        }
        if let Some(deadline) = &self.deadline
            && request.metadata().get("grpc-timeout").is_none()
        {
            request
                .metadata_mut()
                .insert("grpc-timeout", deadline.clone());
        }
        Ok(request)
    }
}

/// Settings for [`Client`]; start from [`Client::builder`].
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    endpoints: Vec<String>,
    token: Option<Token>,
    deadline: Option<Duration>,
    tls: TlsSettings,
    compression: bool,
    max_message_bytes: usize,
    retry: RetryPolicy,
    connect_timeout: Duration,
    keep_alive: Option<KeepAlive>,
    resolve_interval: Duration,
}

/// A bearer token, which `Debug` does not show.
#[derive(Clone)]
struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(hidden)")
    }
}

/// What the caller said about TLS; turned into tonic's configuration when connecting.
#[derive(Clone, Default)]
struct TlsSettings {
    ca_pem: Option<Vec<u8>>,
    native_roots: bool,
    /// Certificate and key, PEM.
    identity_pem: Option<(Vec<u8>, Vec<u8>)>,
    domain: Option<String>,
}

/// Says which settings are given, never the key's bytes.
impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca", &self.ca_pem.as_ref().map(|_| "PEM"))
            .field("native_roots", &self.native_roots)
            .field("identity", &self.identity_pem.as_ref().map(|_| "PEM"))
            .field("domain", &self.domain)
            .finish()
    }
}

impl TlsSettings {
    /// Whether the caller asked for TLS by any of its settings.
    fn requested(&self) -> bool {
        self.ca_pem.is_some()
            || self.native_roots
            || self.identity_pem.is_some()
            || self.domain.is_some()
    }

    /// Trusts the given CA if there is one, else the operating system's roots; checks the
    /// server's certificate against the given name, else `default_domain`; gives up a
    /// handshake after `timeout` (a port that accepts TCP but never answers would otherwise
    /// hold the connection forever).
    fn config(&self, default_domain: Option<&str>, timeout: Duration) -> ClientTlsConfig {
        let mut config = ClientTlsConfig::new().timeout(timeout);
        config = match &self.ca_pem {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.with_native_roots(),
        };
        if self.native_roots && self.ca_pem.is_some() {
            config = config.with_native_roots();
        }
        if let Some((certificate, key)) = &self.identity_pem {
            config = config.identity(Identity::from_pem(certificate, key));
        }
        if let Some(domain) = self.domain.as_deref().or(default_domain) {
            config = config.domain_name(domain);
        }
        config
    }
}

/// HTTP/2 pings that keep a connection open through idle-connection reaping and notice a
/// dead server within `interval` + `timeout`.
#[derive(Clone, Copy, Debug)]
struct KeepAlive {
    interval: Duration,
    timeout: Duration,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoints: Vec::new(),
            token: None,
            deadline: Some(Duration::from_secs(30)),
            tls: TlsSettings::default(),
            compression: false,
            max_message_bytes: 16 * 1024 * 1024,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(5),
            keep_alive: Some(KeepAlive {
                interval: Duration::from_secs(60),
                timeout: Duration::from_secs(20),
            }),
            // gRPC's DNS resolver re-resolves at most every 30 s unless a connection fails.
            resolve_interval: Duration::from_secs(30),
        }
    }
}

impl ClientBuilder {
    /// Adds a server: `http://HOST:PORT`, `https://HOST:PORT` (TLS, trusting the operating
    /// system's roots unless a CA is given) or a name whose every address is a server,
    /// `dns:///NAME:PORT` (asking the system's DNS) or `dns://DNS-SERVER:PORT/NAME:PORT`.
    /// With several servers or addresses, calls are balanced over them (HTTP/2 would
    /// otherwise pin every call to one pod). A `dns:` target uses TLS when any TLS setting is
    /// given, checking certificates against NAME.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoints.push(url.into());
        self
    }

    /// Sends `authorization: Bearer <token>` with every call.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Token(token.into()));
        self
    }

    /// The deadline of calls that set none themselves; `None` waits forever.
    pub fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Trusts servers whose certificate chains to this PEM CA, instead of the operating
    /// system's roots.
    pub fn tls_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.tls.ca_pem = Some(pem.as_ref().to_vec());
        self
    }

    /// Trusts the operating system's root certificates (the default for `https://` without
    /// a CA; with one, both are trusted).
    pub fn tls_native_roots(mut self) -> Self {
        self.tls.native_roots = true;
        self
    }

    /// Presents this PEM certificate and key to servers that require client certificates.
    pub fn tls_identity(
        mut self,
        certificate_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Self {
        self.tls.identity_pem =
            Some((certificate_pem.as_ref().to_vec(), key_pem.as_ref().to_vec()));
        self
    }

    /// The name to check the server's certificate against, if not the endpoint's host.
    pub fn tls_domain(mut self, name: impl Into<String>) -> Self {
        self.tls.domain = Some(name.into());
        self
    }

    /// Compresses requests and accepts compressed responses with gzip.
    pub fn compression(mut self, enabled: bool) -> Self {
        self.compression = enabled;
        self
    }

    /// The largest message sent or received.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// How failed calls are retried: attempts, backoff, per-attempt and overall timeouts.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Longest wait for a connection (TCP and TLS) to a server; 5 s unless set.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// HTTP/2 keep-alive: a ping after `interval` without traffic, the connection closed if
    /// no answer comes within `timeout`; `None` turns pings off. 60 s and 20 s unless set.
    pub fn keep_alive(mut self, interval_and_timeout: Option<(Duration, Duration)>) -> Self {
        self.keep_alive =
            interval_and_timeout.map(|(interval, timeout)| KeepAlive { interval, timeout });
        self
    }

    /// How often a `dns:` target is resolved again when no connection failed; 30 s unless set.
    pub fn resolve_interval(mut self, interval: Duration) -> Self {
        self.resolve_interval = interval;
        self
    }

    /// The settings every connection to `uri` is made with.
    fn endpoint_for(&self, uri: String, tls: Option<ClientTlsConfig>) -> Result<Endpoint, Error> {
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|e| Error::Config(format!("endpoint `{uri}`: {e}")))?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true);
        if let Some(keep_alive) = self.keep_alive {
            endpoint = endpoint
                .http2_keep_alive_interval(keep_alive.interval)
                .keep_alive_timeout(keep_alive.timeout)
                .keep_alive_while_idle(true);
        }
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls)?;
        }
        Ok(endpoint)
    }

    /// Connects. With one `http(s)://` endpoint the connection is made now, so a wrong
    /// address fails here; a `dns:` name is resolved now, so a name that does not resolve
    /// fails here; with several endpoints, connections are made as calls need them.
    pub async fn connect(self) -> Result<Client, Error> {
        let targets = self
            .endpoints
            .iter()
            .map(|text| Target::parse(text))
            .collect::<Result<Vec<_>, _>>()?;
        let channel = match targets.as_slice() {
            [] => return Err(Error::Config("no endpoint".into())),
            [Target::Dns(dns)] => self.discovered(dns.clone()).await?,
            [Target::Url { url, tls }] => {
                let endpoint = self.endpoint_for(
                    url.clone(),
                    tls.then(|| self.tls.config(None, self.connect_timeout)),
                )?;
                let channel = endpoint.connect().await?;
                if *tls {
                    self.check_accepted(endpoint.uri()).await?;
                }
                ServerChannel::new(channel, None)
            }
            several => {
                let mut endpoints = Vec::with_capacity(several.len());
                for target in several {
                    let Target::Url { url, tls } = target else {
                        return Err(Error::Config(
                            "a dns: endpoint must be the only one: it names every server".into(),
                        ));
                    };
                    let tls = tls.then(|| self.tls.config(None, self.connect_timeout));
                    endpoints.push(self.endpoint_for(url.clone(), tls)?);
                }
                ServerChannel::new(Channel::balance_list(endpoints.into_iter()), None)
            }
        };
        let authorization = match &self.token {
            Some(Token(token)) => Some(
                format!("Bearer {token}")
                    .parse()
                    .map_err(|_| Error::Config("the token is not valid header text".into()))?,
            ),
            None => None,
        };
        let settings = CallSettings {
            authorization,
            deadline: self.deadline.map(grpc_timeout),
        };
        Ok(Client {
            transport: InterceptedService::new(channel, settings),
            compression: self.compression,
            max_message_bytes: self.max_message_bytes,
            retry: self.retry,
        })
    }

    /// Fails, naming the reason, if the TLS server at `uri` refuses this client's certificate
    /// (see `tls_check` for why the connection alone does not tell).
    async fn check_accepted(&self, uri: &http::Uri) -> Result<(), Error> {
        let host = uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let address = format!(
            "{}:{}",
            uri.host().unwrap_or_default(),
            uri.port_u16().unwrap_or(443)
        );
        TlsCheck {
            ca_pem: self.tls.ca_pem.as_deref(),
            native_roots: self.tls.native_roots,
            identity_pem: self
                .tls
                .identity_pem
                .as_ref()
                .map(|(certificate, key)| (certificate.as_slice(), key.as_slice())),
            server_name: self.tls.domain.as_deref().unwrap_or(host),
            address: &address,
            timeout: self.connect_timeout,
        }
        .run()
        .await
    }

    /// A channel balanced over every address `dns` resolves to, kept up to date.
    async fn discovered(&self, dns: DnsTarget) -> Result<ServerChannel, Error> {
        let tls = self.tls.requested().then(|| {
            self.tls
                .config(Some(dns.host.trim_end_matches('.')), self.connect_timeout)
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let settings = self.clone();
        let failures = Arc::new(Notify::new());
        let channel = discovery::balanced_channel(
            dns,
            move |address| settings.endpoint_for(format!("{scheme}://{address}"), tls.clone()),
            self.resolve_interval,
            self.connect_timeout,
            failures.clone(),
        )
        .await?;
        Ok(ServerChannel::new(channel, Some(failures)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_print_without_the_token_or_the_key() {
        let builder = ClientBuilder::default()
            .token("a-secret-token-0123456789")
            .tls_identity("-----CERT-----", "-----PRIVATE KEY-----");
        let printed = format!("{builder:?}");
        assert!(!printed.contains("a-secret-token"), "{printed}");
        assert!(!printed.contains("PRIVATE KEY"), "{printed}");
        assert!(printed.contains("identity: Some"), "{printed}");
    }

    #[test]
    fn the_deadline_header_is_what_tonic_writes_for_the_same_duration() {
        for deadline in [
            Duration::from_nanos(1),
            Duration::from_nanos(99_999_999),
            Duration::from_micros(123_456),
            Duration::from_millis(250),
            Duration::from_secs(30),
            Duration::from_secs(100_000),
            Duration::from_secs(7 * 24 * 3600),
            Duration::from_secs(200_000_000),
        ] {
            let mut request = tonic::Request::new(());
            request.set_timeout(deadline);
            assert_eq!(
                request.metadata().get("grpc-timeout"),
                Some(&grpc_timeout(deadline)),
                "{deadline:?}"
            );
        }
    }
}
