//! Which other origins' pages may call the API from a browser (`--cors-allowed-origins`). The
//! dashboard is served from the API's own origin and needs none of this.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tonic::codegen::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};

/// Request headers a gRPC-Web or Connect client sends besides the simple ones.
const REQUEST_HEADERS: &[&str] = &[
    "content-type",
    "authorization",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "grpc-accept-encoding",
    "grpc-encoding",
    "traceparent",
    "tracestate",
];

/// Response headers a browser script may read: the call's status travels in them when a call
/// fails before any message (a "trailers-only" answer).
const RESPONSE_HEADERS: &[&str] = &[
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "grpc-encoding",
];

/// The CORS policy for `origins`: none when empty (no CORS headers at all, so browsers refuse
/// other pages' calls, and gRPC answers carry no `vary` they do not need), any for `*`,
/// otherwise exactly those. An origin that is not `scheme://host[:port]` is refused at start,
/// naming the setting.
pub fn layer(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allowed = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        let parsed = origins
            .iter()
            .map(|origin| parse(origin))
            .collect::<anyhow::Result<Vec<_>>>()
            .context("--cors-allowed-origins (PAIRING_AID_CORS_ALLOWED_ORIGINS)")?;
        AllowOrigin::list(parsed)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allowed)
            .allow_methods([Method::POST])
            .allow_headers(AllowHeaders::list(
                REQUEST_HEADERS.iter().map(|h| HeaderName::from_static(h)),
            ))
            .expose_headers(ExposeHeaders::list(
                RESPONSE_HEADERS.iter().map(|h| HeaderName::from_static(h)),
            ))
            .max_age(Duration::from_secs(24 * 60 * 60)),
    ))
}

fn parse(origin: &str) -> anyhow::Result<HeaderValue> {
    let Some((scheme, host)) = origin.split_once("://") else {
        bail!("{origin:?} is not an origin such as https://analysis.example.org");
    };
    if !matches!(scheme, "http" | "https") || host.is_empty() || host.contains('/') {
        bail!(
            "{origin:?} is not an origin: scheme http or https, a host and an optional port, no path"
        );
    }
    HeaderValue::from_str(origin).with_context(|| format!("{origin:?} is not a valid header value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_an_origin() {
        for bad in [
            "example.org",
            "ftp://example.org",
            "https://example.org/page",
            "https://",
        ] {
            let error = format!("{:#}", layer(&[bad.to_owned()]).unwrap_err());
            assert!(error.contains("--cors-allowed-origins"), "{error}");
            assert!(error.contains(bad), "{error}");
        }
        assert!(
            layer(&["https://analysis.example.org:8443".to_owned()])
                .unwrap()
                .is_some()
        );
        assert!(layer(&["*".to_owned()]).unwrap().is_some());
        assert!(layer(&[]).unwrap().is_none(), "no origins, no CORS layer");
    }
}
