//! Connection setup in one place: outgoing channels (to peers) and the gRPC
//! server builder, with TLS when configured, and gRPC-web on the client API
//! for the browser origins allowed (off unless configured).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::TryFutureExt;
use futures::future::{Either, MapOk, Ready, ready};
use tonic::body::Body;
use tonic::codegen::http::{self, HeaderName, HeaderValue, Method, StatusCode, Version, header};
use tonic::codegen::{Body as HttpBody, Bytes, Service};
use tonic::server::NamedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint, Server, ServerTlsConfig};
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower_http::cors::{AllowOrigin, Cors};
use tower_layer::Layer;

use crate::security::tls::TlsSettings;

/// Largest gRPC message between peers (Raft batches and snapshot chunks).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// How this node connects and listens.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    tls: Option<Arc<(ServerTlsConfig, ClientTlsConfig)>>,
    web: Option<Arc<WebOrigins>>,
}

impl Transport {
    /// Plain TCP (no TLS).
    pub fn plain() -> Transport {
        Transport::default()
    }

    /// TLS on every link, from `settings` (certificate files are read now).
    pub fn tls(settings: &TlsSettings) -> anyhow::Result<Transport> {
        let server = settings.server_config()?;
        let client = settings.peer_client_config()?;
        Ok(Transport {
            tls: Some(Arc::new((server, client))),
            web: None,
        })
    }

    /// Serves gRPC-web on the client API to the browser `origins` (None: no
    /// gRPC-web, and HTTP/2 only).
    pub fn with_web(self, origins: Option<WebOrigins>) -> Transport {
        Transport {
            web: origins.map(Arc::new),
            ..self
        }
    }

    /// The origins gRPC-web is served to, if it is on.
    pub fn web(&self) -> Option<&Arc<WebOrigins>> {
        self.web.as_ref()
    }

    /// Whether links use TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// A lazily connected channel to peer `addr` (host:port).
    pub fn channel(&self, addr: &str) -> Result<Channel, tonic::transport::Error> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))?;
        if let Some(tls) = &self.tls {
            endpoint = endpoint.tls_config(tls.1.clone())?;
        }
        let endpoint = endpoint
            .connect_timeout(Duration::from_millis(500))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true);
        Ok(endpoint.connect_lazy())
    }

    /// A server builder with this node's transport settings. With gRPC-web
    /// on it also accepts HTTP/1.1 connections (browsers without TLS speak
    /// HTTP/1.1; over TLS they choose HTTP/2 by ALPN); native clients and
    /// peers still use HTTP/2, which the server tells apart by the preface.
    pub fn server(&self) -> Result<Server, tonic::transport::Error> {
        let mut server = Server::builder();
        if let Some(tls) = &self.tls {
            server = server.tls_config(tls.0.clone())?;
        }
        Ok(server
            .accept_http1(self.web.is_some())
            .tcp_nodelay(true)
            .http2_keepalive_interval(Some(Duration::from_secs(5)))
            .http2_keepalive_timeout(Some(Duration::from_secs(5))))
    }
}

/// Browser origins allowed to call the client API with gRPC-web: the CORS
/// allow-list (`tenure server --web-origin`, `tenure dev --web`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebOrigins {
    /// Exact origins (`scheme://host[:port]`, lower case, as browsers send them).
    pub exact: Vec<String>,
    /// Every `http` or `https` origin on `localhost`, `127.0.0.1` or `[::1]`,
    /// any port (`local`, and what `tenure dev --web` allows).
    pub local: bool,
    /// Every origin (`any`): for clusters whose every caller needs a token.
    pub any: bool,
}

impl WebOrigins {
    /// The local origins only (`tenure dev --web`).
    pub fn local() -> WebOrigins {
        WebOrigins {
            local: true,
            ..WebOrigins::default()
        }
    }

    /// Parses `--web-origin` values: exact origins such as
    /// `https://app.example.com` or `http://localhost:8080`, `local`, or
    /// `any`. No value: gRPC-web stays off (None). `*` is refused (say `any`,
    /// so that allowing every web page is never an accident), and so are
    /// `null`, paths and anything that is not an http(s) origin.
    pub fn parse(values: &[String]) -> anyhow::Result<Option<WebOrigins>> {
        if values.is_empty() {
            return Ok(None);
        }
        let mut origins = WebOrigins::default();
        for value in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
            match value {
                "any" => origins.any = true,
                "local" => origins.local = true,
                "*" => anyhow::bail!(
                    "--web-origin '*': say `any` to let every web page call the cluster"
                ),
                _ => {
                    let origin = value.to_ascii_lowercase();
                    anyhow::ensure!(
                        is_origin(&origin),
                        "--web-origin {value:?} is not an origin (scheme://host[:port], \
                         http or https, no path), `local` or `any`"
                    );
                    if !origins.exact.contains(&origin) {
                        origins.exact.push(origin);
                    }
                }
            }
        }
        Ok(Some(origins))
    }

    /// Adds every origin of `other`.
    pub fn merge(&mut self, other: WebOrigins) {
        self.any |= other.any;
        self.local |= other.local;
        for origin in other.exact {
            if !self.exact.contains(&origin) {
                self.exact.push(origin);
            }
        }
    }

    /// Whether a request's `Origin` header names an allowed origin.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if origin == "null" || !is_origin(origin) {
            return false;
        }
        self.any
            || (self.local && is_local_origin(origin))
            || self.exact.iter().any(|o| o == origin)
    }

    /// How the allowed origins are logged and printed.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.any {
            parts.push("any origin".to_owned());
        }
        if self.local {
            parts.push("http(s)://localhost, 127.0.0.1 and [::1] on any port".to_owned());
        }
        parts.extend(self.exact.iter().cloned());
        parts.join(", ")
    }
}

/// Whether `s` is an http(s) origin: `scheme://host[:port]`, no user, path,
/// query or fragment, lower case.
fn is_origin(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
    else {
        return false;
    };
    let (host, port) = split_host_port(rest);
    let host_ok = !host.is_empty()
        && if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            !v6.is_empty()
                && v6
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        } else {
            host.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    host_ok && port_ok
}

/// `host[:port]` split at the port's colon (an IPv6 host is in brackets).
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    let host_end = if s.starts_with('[') {
        s.find(']').map_or(s.len(), |i| i + 1)
    } else {
        s.find(':').unwrap_or(s.len())
    };
    let (host, rest) = s.split_at(host_end);
    (host, rest.strip_prefix(':'))
}

/// Whether `origin` (already checked by [`is_origin`]) is on this machine.
fn is_local_origin(origin: &str) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or_default();
    matches!(split_host_port(rest).0, "localhost" | "127.0.0.1" | "[::1]")
}

/// Request headers a gRPC-web client sends (besides CORS-safelisted ones).
const WEB_REQUEST_HEADERS: [&str; 7] = [
    "authorization",
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "grpc-accept-encoding",
    "grpc-encoding",
];

/// Response headers a gRPC-web client reads (the status of a call that
/// fails before any message comes as headers, not in the body's trailer frame).
const WEB_RESPONSE_HEADERS: [&str; 3] = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// `inner` behind the CORS rules of the client API for `origins`.
fn cors<S>(inner: S, origins: Arc<WebOrigins>) -> Cors<S> {
    Cors::new(inner)
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origins.allows(origin)
        }))
        .allow_methods([Method::POST])
        .allow_headers(WEB_REQUEST_HEADERS.map(HeaderName::from_static))
        .expose_headers(WEB_RESPONSE_HEADERS.map(HeaderName::from_static))
        .max_age(PREFLIGHT_MAX_AGE)
}

/// The client API with gRPC-web and CORS for the allowed origins: preflights
/// from an allowed origin are answered with the allow headers, any request
/// (preflight or call) from a browser page of another origin is refused (403)
/// before it reaches the API, and gRPC-web calls are translated to gRPC. Native gRPC
/// over HTTP/2 passes through unchanged. Authentication, limits and
/// everything else happen in the API as for any other call.
#[derive(Clone)]
pub struct WebService<S> {
    inner: Cors<GrpcWebService<S>>,
    origins: Arc<WebOrigins>,
}

impl<S> WebService<S> {
    /// `service` with gRPC-web for `origins`.
    pub fn new(service: S, origins: Arc<WebOrigins>) -> WebService<S> {
        WebService {
            inner: cors(GrpcWebLayer::new().layer(service), origins.clone()),
            origins,
        }
    }
}

impl<S: NamedService> NamedService for WebService<S> {
    const NAME: &'static str = S::NAME;
}

/// An immediate answer, or the wrapped service's future.
type Answer<F> = Either<Ready<Result<http::Response<Body>, Infallible>>, F>;

impl<S> Service<http::Request<Body>> for WebService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Answer<tower_http::cors::ResponseFuture<tonic_web::ResponseFuture<S::Future>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<http::Request<Body>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        // A page of an origin not allowed gets nothing: its preflight is
        // refused (so the browser sends no call) and so is any call it makes
        // without one. Preflights from allowed origins are answered by the
        // CORS layer.
        if let Some(origin) = req.headers().get(header::ORIGIN)
            && !self.origins.allows(origin)
        {
            tracing::debug!(
                ?origin,
                method = %req.method(),
                path = req.uri().path(),
                "refused a request from a web origin not allowed"
            );
            let mut refused = http::Response::new(Body::empty());
            *refused.status_mut() = StatusCode::FORBIDDEN;
            return Either::Left(ready(Ok(refused)));
        }
        Either::Right(self.inner.call(req))
    }
}

/// A service that answers only native gRPC: HTTP/2 requests whose content
/// type is not gRPC-web (UNIMPLEMENTED otherwise). It wraps the peer API
/// always, and the client API when gRPC-web is off, so that nothing else is
/// reachable over HTTP/1.1 or as gRPC-web (tonic itself would serve a gRPC-web
/// request over HTTP/2 as if it were gRPC).
#[derive(Clone)]
pub struct NativeOnly<S>(pub S);

impl<S: NamedService> NamedService for NativeOnly<S> {
    const NAME: &'static str = S::NAME;
}

/// A response with its body boxed.
type Boxed<B> = fn(http::Response<B>) -> http::Response<Body>;

impl<S, B> Service<http::Request<Body>> for NativeOnly<S>
where
    S: Service<http::Request<Body>, Response = http::Response<B>, Error = Infallible>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Answer<MapOk<S::Future, Boxed<B>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let web = req
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc-web"));
        if web || req.version() != Version::HTTP_2 {
            let status = tonic::Status::unimplemented("only gRPC over HTTP/2 is served here");
            return Either::Left(ready(Ok(status.into_http())));
        }
        let boxed: Boxed<B> = |r| r.map(Body::new);
        Either::Right(self.0.call(req).map_ok(boxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> anyhow::Result<Option<WebOrigins>> {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        WebOrigins::parse(&values)
    }

    fn allows(origins: &WebOrigins, origin: &str) -> bool {
        origins.allows(&HeaderValue::from_str(origin).expect("header value"))
    }

    #[test]
    fn origins_parse_and_refuse_what_is_not_an_origin() {
        assert_eq!(parse(&[]).expect("parses"), None);
        let o = parse(&["https://App.example.com", "http://localhost:8080,local"])
            .expect("parses")
            .expect("on");
        assert_eq!(
            o.exact,
            ["https://app.example.com", "http://localhost:8080"]
        );
        assert!(o.local && !o.any);
        for bad in [
            "*",
            "null",
            "app.example.com",
            "ftp://a.example",
            "https://a.example/",
            "https://a.example/path",
            "https://user@a.example",
            "https://a.example:99999",
            "https://a.example:",
        ] {
            assert!(parse(&[bad]).is_err(), "{bad} was accepted");
        }
        assert!(parse(&["any"]).expect("parses").expect("on").any);
    }

    #[test]
    fn only_allowed_origins_are_allowed() {
        let exact = parse(&["https://app.example.com"])
            .expect("parses")
            .expect("on");
        assert!(allows(&exact, "https://app.example.com"));
        assert!(!allows(&exact, "http://app.example.com"));
        assert!(!allows(&exact, "https://app.example.com:8443"));
        assert!(!allows(&exact, "https://app.example.com.evil.example"));
        assert!(!allows(&exact, "null"));
        let local = WebOrigins::local();
        for ok in [
            "http://localhost:5173",
            "http://127.0.0.1:8080",
            "https://localhost",
            "http://[::1]:3000",
        ] {
            assert!(allows(&local, ok), "{ok}");
        }
        for no in [
            "http://localhost.evil.example:5173",
            "http://127.0.0.1.evil.example",
            "http://192.168.1.2:8080",
            "https://app.example.com",
            "null",
        ] {
            assert!(!allows(&local, no), "{no}");
        }
        let any = parse(&["any"]).expect("parses").expect("on");
        assert!(allows(&any, "https://anything.example"));
        assert!(!allows(&any, "null"));
    }
}
