//! Where a client connects: a URL (`http://`, `https://`) or a name to resolve
//! (`dns:[//dns-server/]host[:port]`, gRPC's naming syntax).

use std::net::{IpAddr, SocketAddr};

use crate::Error;

/// A server to connect to, as given to [`crate::ClientBuilder::endpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// One server at a URL.
    Url { url: String, tls: bool },
    /// Every address a DNS name resolves to.
    Dns(DnsTarget),
}

/// A `dns:` target: the name, the port and, if the target names one, the DNS server to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DnsTarget {
    pub host: String,
    pub port: u16,
    pub server: Option<SocketAddr>,
}

/// gRPC's default port for `dns:` targets without one.
const DEFAULT_PORT: u16 = 443;
/// The port of a DNS server named without one.
const DNS_PORT: u16 = 53;

impl Target {
    pub(crate) fn parse(text: &str) -> Result<Target, Error> {
        let malformed = |why: &str| Error::Config(format!("endpoint `{text}`: {why}"));
        if let Some(rest) = text.strip_prefix("dns:") {
            return DnsTarget::parse(rest).map(Target::Dns).map_err(malformed);
        }
        let tls = if text.starts_with("https://") {
            true
        } else if text.starts_with("http://") {
            false
        } else {
            return Err(malformed(
                "expected http://HOST:PORT, https://HOST:PORT or dns:///NAME:PORT",
            ));
        };
        Ok(Target::Url {
            url: text.to_owned(),
            tls,
        })
    }
}

impl DnsTarget {
    /// Parses what follows `dns:`: `///host[:port]` or `//server[:port]/host[:port]`.
    fn parse(rest: &str) -> Result<DnsTarget, &'static str> {
        let (server, name) = match rest.strip_prefix("//") {
            Some(authority_and_name) => {
                let (authority, name) = authority_and_name
                    .split_once('/')
                    .ok_or("expected dns:///NAME:PORT or dns://DNS-SERVER/NAME:PORT")?;
                let server = (!authority.is_empty())
                    .then(|| parse_server(authority))
                    .transpose()?;
                (server, name)
            }
            None => (None, rest),
        };
        let (host, port) = match name.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| "the port is not a number from 0 to 65535")?,
            ),
            None => (name, DEFAULT_PORT),
        };
        let valid_label = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if host.is_empty() {
            return Err("no name to resolve");
        }
        if !host.trim_end_matches('.').split('.').all(valid_label) {
            return Err("the name is not a DNS name (letters, digits, '-' and '.')");
        }
        Ok(DnsTarget {
            host: host.to_owned(),
            port,
            server,
        })
    }
}

/// A DNS server as `ip` or `ip:port`.
fn parse_server(authority: &str) -> Result<SocketAddr, &'static str> {
    const WHY: &str = "the DNS server is not an IP address with an optional port";
    if let Ok(address) = authority.parse::<SocketAddr>() {
        return Ok(address);
    }
    let ip = authority
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map_err(|_| WHY)?;
    Ok(SocketAddr::new(ip, DNS_PORT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(host: &str, port: u16, server: Option<&str>) -> Target {
        Target::Dns(DnsTarget {
            host: host.into(),
            port,
            server: server.map(|s| s.parse().unwrap()),
        })
    }

    #[test]
    fn reads_the_forms_grpc_names_targets_in() {
        let cases = [
            ("dns:///pairing-aid:50051", dns("pairing-aid", 50051, None)),
            (
                "dns:pairing-aid.ns.svc:8443",
                dns("pairing-aid.ns.svc", 8443, None),
            ),
            ("dns:///pairing-aid", dns("pairing-aid", 443, None)),
            (
                "dns://127.0.0.1:5353/pairing-aid.test:50051",
                dns("pairing-aid.test", 50051, Some("127.0.0.1:5353")),
            ),
            (
                "dns://10.0.0.10/pairing-aid:1",
                dns("pairing-aid", 1, Some("10.0.0.10:53")),
            ),
            (
                "https://pairing-aid.example:443",
                Target::Url {
                    url: "https://pairing-aid.example:443".into(),
                    tls: true,
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Target::parse(text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn says_what_is_wrong_with_a_malformed_target() {
        for (text, why) in [
            ("dns:///", "no name to resolve"),
            ("dns:///pairing-aid:http", "the port is not a number"),
            ("dns:///pairing aid:50051", "not a DNS name"),
            (
                "dns://resolver/pairing-aid:50051",
                "the DNS server is not an IP address",
            ),
            ("dns://127.0.0.1:5353", "expected dns:///NAME:PORT"),
            ("pairing-aid:50051", "expected http://HOST:PORT"),
        ] {
            let message = Target::parse(text).unwrap_err().to_string();
            assert!(
                message.contains(text) && message.contains(why),
                "{text}: {message}"
            );
        }
    }
}
