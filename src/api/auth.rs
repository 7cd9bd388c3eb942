//! Bearer tokens: who is calling and what they may do.
//!
//! Tokens come from a file or an environment variable, one per line: `SUBJECT ROLE TOKEN`, with
//! `#` comments. Only SHA-256 digests are kept; a presented token is compared against every
//! digest in constant time, and no token is ever logged. The server swaps the whole set when
//! its file changes (`server::reload`); a call sees the old set or the new one, never a mix.
//! Under mutual TLS a call without a token may be identified by its client certificate
//! instead, through `--tls-client-roles` (reloaded the same way).

use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use futures_util::future::Either;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::codegen::http::{self, header::AUTHORIZATION};
use tonic::{Request, Status};

use super::ApiError;

/// What a caller may do; each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read everything.
    Read,
    /// Also write programme data: pairings, projects, observations.
    Write,
    /// Also write reference data: parties, areas, indicators.
    Admin,
}

impl Role {
    fn parse(text: &str) -> Result<Role, String> {
        match text {
            "read" => Ok(Role::Read),
            "write" => Ok(Role::Write),
            "admin" => Ok(Role::Admin),
            other => Err(format!("role {other:?} is not read, write or admin")),
        }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub role: Role,
}

/// The known tokens, as digests.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<([u8; 32], Caller)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} entries)", self.entries.len())
    }
}

impl Tokens {
    /// Parses `SUBJECT ROLE TOKEN` lines; errors name the line but never echo a token.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [subject, role, token] = parts[..] else {
                return Err(format!(
                    "token line {}: expected `SUBJECT ROLE TOKEN`",
                    number + 1
                ));
            };
            let role = Role::parse(role).map_err(|e| format!("token line {}: {e}", number + 1))?;
            if token.len() < 16 {
                return Err(format!(
                    "token line {}: tokens must be at least 16 characters",
                    number + 1
                ));
            }
            if is_placeholder(token) {
                return Err(format!(
                    "token line {}: the token is a placeholder from the documentation or the \
                     manifests, which anyone can read; generate one, for example with \
                     `openssl rand -hex 32`",
                    number + 1
                ));
            }
            entries.push((
                digest(token),
                Caller {
                    subject: subject.to_owned(),
                    role,
                },
            ));
        }
        Ok(Tokens { entries })
    }

    /// These tokens and those of `other`.
    pub fn merged(mut self, other: Tokens) -> Self {
        self.entries.extend(other.entries);
        self
    }

    /// The caller a token belongs to, if any.
    fn identify(&self, token: &str) -> Option<Caller> {
        let presented = digest(token);
        let mut found = None;
        for (known, caller) in &self.entries {
            if bool::from(known.ct_eq(&presented)) {
                found = Some(caller.clone());
            }
        }
        found
    }
}

/// Words that mark a token copied from an example rather than generated: the manifests and
/// documentation have shipped `replace-me-with-a-long-random-token`, which is long enough to be
/// valid.
const PLACEHOLDER_MARKS: &[&str] = &[
    "replace-me",
    "replaceme",
    "change-me",
    "changeme",
    "placeholder",
];

fn is_placeholder(token: &str) -> bool {
    let lower = token.to_ascii_lowercase();
    PLACEHOLDER_MARKS.iter().any(|mark| lower.contains(mark))
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The tokens in force, replaced whole when their file changes.
pub type SharedTokens = Arc<ArcSwap<Tokens>>;

/// Roles of services identified by their client certificates under mutual TLS: one
/// `IDENTITY ROLE` per line, the identity a URI (a SPIFFE ID such as
/// `spiffe://cluster.local/ns/etl/sa/loader`) or DNS name of the certificate's subject
/// alternative names, `#` comments.
#[derive(Clone, Debug, Default)]
pub struct CertificateRoles {
    roles: std::collections::HashMap<String, Role>,
}

impl CertificateRoles {
    /// Parses `IDENTITY ROLE` lines; errors name the line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut roles = std::collections::HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [identity, role] = parts[..] else {
                return Err(format!("line {}: expected `IDENTITY ROLE`", number + 1));
            };
            let role = Role::parse(role).map_err(|e| format!("line {}: {e}", number + 1))?;
            roles.insert(identity.to_owned(), role);
        }
        Ok(CertificateRoles { roles })
    }

    /// The caller a certificate with these names is: the name with the highest role.
    fn identify(&self, names: &[String]) -> Option<Caller> {
        names
            .iter()
            .filter_map(|name| self.roles.get(name).map(|&role| (role, name)))
            .max()
            .map(|(role, name)| Caller {
                subject: name.clone(),
                role,
            })
    }
}

/// The certificate roles in force, replaced whole when their file changes.
pub type SharedCertificateRoles = Arc<ArcSwap<CertificateRoles>>;

/// Checks the `authorization` header of every call, or else the client certificate's names,
/// and records the caller on the request.
#[derive(Clone, Debug)]
pub struct Authenticator {
    tokens: SharedTokens,
    certificate_roles: SharedCertificateRoles,
    reads_need_token: bool,
}

impl Authenticator {
    /// Authenticates against the tokens and certificate roles in force at each call;
    /// anonymous reads are refused if `reads_need_token`.
    pub fn new(
        tokens: SharedTokens,
        certificate_roles: SharedCertificateRoles,
        reads_need_token: bool,
    ) -> Self {
        Authenticator {
            tokens,
            certificate_roles,
            reads_need_token,
        }
    }

    /// The caller of a call with these headers and extensions (its peer), if it is
    /// identified; an error if it presents a token that is wrong, or none where one is needed.
    fn authenticate(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Option<Caller>, ApiError> {
        // Two headers could say two things, and which one a proxy or a server reads differs:
        // a call sends one or none.
        // By the header's constant, not its name: a name given as text is parsed on every
        // lookup.
        let mut headers = headers.get_all(AUTHORIZATION).iter();
        let header = headers.next();
        if headers.next().is_some() {
            return Err(ApiError::Unauthenticated(
                "send one authorization header, not several".into(),
            ));
        }
        let Some(header) = header else {
            if let Some(caller) = self.certificate_caller(extensions) {
                return Ok(Some(caller));
            }
            if self.reads_need_token {
                return Err(ApiError::Unauthenticated(
                    "this server needs a bearer token for every call".into(),
                ));
            }
            return Ok(None);
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::Unauthenticated("authorization must be `Bearer <token>`".into())
            })?;
        let caller = self
            .tokens
            .load()
            .identify(token.trim())
            .ok_or_else(|| ApiError::Unauthenticated("the bearer token is not valid".into()))?;
        Ok(Some(caller))
    }

    /// The service a mapped client certificate identifies; a certificate with no mapping is
    /// anonymous.
    fn certificate_caller(&self, extensions: &http::Extensions) -> Option<Caller> {
        let roles = self.certificate_roles.load();
        if roles.roles.is_empty() {
            return None;
        }
        let peer = extensions.get::<super::peer::Peer>()?;
        roles.identify(&peer.certificate_names)
    }

    /// `service`, its calls authenticated before it sees them.
    pub fn guard<S>(&self, service: S) -> Authenticated<S> {
        Authenticated {
            inner: service,
            authenticator: self.clone(),
        }
    }
}

/// A gRPC service whose calls carry their [`Caller`] in their extensions, and which refuses
/// the calls [`Authenticator`] refuses. On the HTTP request, not through tonic's interceptor,
/// which makes a `tonic::Request` of every call and an HTTP request of it again: about 550
/// instructions of a GetProject's 69,000 (docs/BENCHMARKS.md, issue 21). Not a
/// `middleware::Wrap`: those wrap the whole router, health checks and reflection included,
/// and box every answer; this wraps one named service and passes its future through.
#[derive(Clone, Debug)]
pub struct Authenticated<S> {
    inner: S,
    authenticator: Authenticator,
}

impl<S: tonic::server::NamedService> tonic::server::NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower::Service<http::Request<B>> for Authenticated<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<S::Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self
            .authenticator
            .authenticate(request.headers(), request.extensions())
        {
            Ok(caller) => {
                if let Some(caller) = caller {
                    request.extensions_mut().insert(caller);
                }
                Either::Right(self.inner.call(request))
            }
            Err(refused) => Either::Left(ready(Ok(Status::from(refused).into_http()))),
        }
    }
}

/// The caller of `request` if it holds at least `role`.
pub fn require<T>(request: &Request<T>, role: Role) -> Result<Caller, ApiError> {
    match request.extensions().get::<Caller>() {
        None => Err(ApiError::Unauthenticated(format!(
            "this call needs a bearer token with the {role:?} role"
        ))),
        Some(caller) if caller.role < role => Err(ApiError::PermissionDenied(format!(
            "{} has the {:?} role; this call needs {role:?}",
            caller.subject, caller.role
        ))),
        Some(caller) => Ok(caller.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_known_tokens_only() {
        let tokens = Tokens::parse(
            "# programme office\nalice write 0123456789abcdef\nbob admin fedcba9876543210\n",
        )
        .unwrap();
        assert_eq!(
            tokens.identify("0123456789abcdef").unwrap().subject,
            "alice"
        );
        assert_eq!(
            tokens.identify("fedcba9876543210").unwrap().role,
            Role::Admin
        );
        assert!(tokens.identify("0123456789abcdeX").is_none());
    }

    #[test]
    fn rejects_malformed_lines_without_echoing_the_token() {
        let error = Tokens::parse("alice owner 0123456789abcdef").unwrap_err();
        assert!(error.contains("line 1") && !error.contains("0123456789abcdef"));
        assert!(Tokens::parse("alice write short").is_err());
    }

    #[test]
    fn refuses_placeholder_tokens_from_the_documentation() {
        let error = Tokens::parse("office write replace-me-with-a-long-random-token").unwrap_err();
        assert!(
            error.contains("placeholder") && error.contains("openssl rand"),
            "{error}"
        );
        assert!(Tokens::parse("office write CHANGEME-0123456789abcdef").is_err());
    }
}
