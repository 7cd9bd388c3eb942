//! The dashboard's page, script and style, embedded in the binary and served for `GET` on the
//! gRPC port (gRPC is always `POST`, so the two never meet). The page is only a client of the
//! public API over gRPC-Web: it reads what any caller may read and nothing else.

use std::sync::LazyLock;
use std::task::{Context, Poll};

use futures_util::future::{Either, Ready, ready};
use http_body_util::Full;
use prost::Message as _;
use tonic::body::Body;
use tonic::codegen::Bytes;
use tonic::codegen::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use tower::{Layer, Service};

/// Where the dashboard lives; `/` sends a browser there.
const PREFIX: &str = "/dashboard/";

/// Everything the page may load comes from this origin; it runs no inline code.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'";

struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Built by `npm ci && npm run build` in `dashboard/` (the output is committed, so building
/// the server needs no Node; CI rebuilds it and fails if it differs).
const ASSETS: &[Asset] = &[
    Asset {
        path: "",
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("../../dashboard/index.html"),
    },
    Asset {
        path: "dashboard.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../dashboard/dist/dashboard.js"),
    },
    Asset {
        path: "dashboard.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../dashboard/dist/dashboard.css"),
    },
];

/// The API's schema for the page, which builds its gRPC-Web clients from it at run time: the
/// `pairing.v1` files with what they import, and google.rpc's error details so that the page
/// can name the field a refusal is about. Files both sets hold are given once.
static DESCRIPTORS: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut merged = prost_types::FileDescriptorSet::default();
    for encoded in [
        crate::api::pb::FILE_DESCRIPTOR_SET,
        tonic_types::pb::FILE_DESCRIPTOR_SET,
    ] {
        let set = prost_types::FileDescriptorSet::decode(encoded)
            .expect("descriptor sets compiled into the binary decode");
        for file in set.file {
            if !merged.file.iter().any(|known| known.name == file.name) {
                merged.file.push(file);
            }
        }
    }
    merged.encode_to_vec()
});

/// Answers the dashboard's `GET`s in front of the gRPC services (`enabled` false: a clear 404).
#[derive(Clone, Copy, Debug)]
pub struct DashboardLayer {
    pub enabled: bool,
}

impl<S> Layer<S> for DashboardLayer {
    type Service = Dashboard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Dashboard {
            inner,
            enabled: self.enabled,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Dashboard<S> {
    inner: S,
    enabled: bool,
}

impl<S, B> Service<Request<B>> for Dashboard<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response<Body>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = request.method();
        if method != Method::GET && method != Method::HEAD {
            return Either::Right(self.inner.call(request));
        }
        let response = answer(request.uri().path(), self.enabled);
        let response = if method == Method::HEAD {
            response.map(|_| Body::empty())
        } else {
            response
        };
        Either::Left(ready(Ok(response)))
    }
}

fn answer(path: &str, enabled: bool) -> Response<Body> {
    if !enabled {
        return plain(
            StatusCode::NOT_FOUND,
            "the dashboard is turned off on this server (--dashboard=false); the gRPC API answers on this port\n",
        );
    }
    if path == "/" || path == "/dashboard" || path == "/dashboard/index.html" {
        return Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, PREFIX)
            .body(Body::empty())
            .expect("a redirect with a constant location is valid");
    }
    let Some(name) = path.strip_prefix(PREFIX) else {
        return plain(
            StatusCode::NOT_FOUND,
            "nothing here: the dashboard is at /dashboard/; the gRPC API answers POST\n",
        );
    };
    if name == "descriptors.binpb" {
        return asset("application/octet-stream", DESCRIPTORS.as_slice());
    }
    match ASSETS.iter().find(|asset| asset.path == name) {
        Some(found) => asset(found.content_type, found.bytes),
        None => plain(StatusCode::NOT_FOUND, "the dashboard has no such file\n"),
    }
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> Response<Body> {
    let mut response = Response::new(Body::new(Full::new(Bytes::from_static(bytes))));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Revalidated on every load, so a page never runs against a newer server's API with an
    // older script.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::new(Full::new(Bytes::from_static(text.as_bytes()))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
