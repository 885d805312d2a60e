//! Connections to the cluster and the retry loop every call goes through.
//!
//! Channels are created lazily, one per endpoint, and reused. A call goes to the
//! last known leader (or the next endpoint); NOT_LEADER redirects it at once,
//! UNAVAILABLE and attempt timeouts move it to another endpoint after an
//! exponential backoff with jitter, all within the call's deadline. Callers
//! pass the same request id on every attempt, so a retry never applies twice (G5).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use tenure_proto::v1::tenure_client::TenureClient;
use tokio::sync::watch;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;

use crate::error::{Error, ErrorKind, Failure, Result, classify};
use crate::options::ClientOptions;
use crate::rt::{self, Instant, Transport};

/// A client stub for one endpoint, adding the bearer token to every request.
pub(crate) type Stub = TenureClient<InterceptedService<Transport, Auth>>;

/// Adds `authorization: Bearer <token>` when a token is configured.
#[derive(Clone)]
pub(crate) struct Auth(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Auth {
    fn call(
        &mut self,
        mut req: tonic::Request<()>,
    ) -> std::result::Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// The cluster as the client knows it.
pub(crate) struct Conn {
    endpoints: Vec<String>,
    tls: Option<rt::Tls>,
    auth: Auth,
    channels: Mutex<HashMap<String, Transport>>,
    route: Mutex<Route>,
    /// Bumped whenever an address becomes suspect, so attempts in flight to it
    /// give up at once instead of waiting out their own timeouts.
    suspicions: watch::Sender<u64>,
    pub(crate) options: ClientOptions,
    /// Counters of this client's acquires and grants.
    pub(crate) metrics: crate::metrics::ClientMetrics,
}

/// Where calls go next.
struct Route {
    leader: Option<String>,
    next: usize,
    /// Addresses that gave no answer within an attempt timeout, and until when
    /// they are passed over (a wedged or paused node must not hold calls up).
    suspect: HashMap<String, Instant>,
}

impl Route {
    fn is_suspect(&self, addr: &str, now: Instant) -> bool {
        self.suspect.get(addr).is_some_and(|until| *until > now)
    }
}

/// Normalizes `host:port` or `http://host:port` to `host:port`.
pub(crate) fn normalize(endpoint: &str) -> Result<String> {
    let trimmed = endpoint.trim();
    let bare = trimmed
        .strip_prefix("http://")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    if bare.is_empty() || !bare.contains(':') {
        return Err(Error::invalid(format!(
            "endpoint {endpoint:?} is not HOST:PORT"
        )));
    }
    Ok(bare.to_owned())
}

impl Conn {
    pub(crate) fn new(endpoints: &[String], options: ClientOptions) -> Result<Conn> {
        let endpoints = endpoints
            .iter()
            .flat_map(|e| e.split(','))
            .filter(|e| !e.trim().is_empty())
            .map(normalize)
            .collect::<Result<Vec<_>>>()?;
        if endpoints.is_empty() {
            return Err(Error::invalid("no endpoints given"));
        }
        let start = rand::rng().random_range(0..endpoints.len());
        let tls = rt::tls_config(&options)?;
        let auth = match &options.token {
            Some(t) => {
                Auth(Some(format!("Bearer {t}").parse().map_err(|_| {
                    Error::invalid("the token must be printable ASCII")
                })?))
            }
            None => Auth(None),
        };
        Ok(Conn {
            endpoints,
            tls,
            auth,
            channels: Mutex::new(HashMap::new()),
            route: Mutex::new(Route {
                leader: None,
                next: start,
                suspect: HashMap::new(),
            }),
            suspicions: watch::channel(0).0,
            options,
            metrics: Default::default(),
        })
    }

    /// The endpoints given at connect time.
    pub(crate) fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// Whether `addr` may be dialed: any address, or with `endpoints_only`
    /// only the endpoints given at connect time.
    fn may_dial(&self, addr: &str) -> bool {
        !self.options.endpoints_only || self.endpoints.iter().any(|e| e == addr)
    }

    fn channel(&self, addr: &str) -> Result<Transport> {
        if !self.may_dial(addr) {
            return Err(Error::invalid(format!(
                "{addr} is not one of the endpoints, and endpoints_only is set"
            )));
        }
        let mut channels = self.channels.lock();
        if let Some(ch) = channels.get(addr) {
            return Ok(ch.clone());
        }
        let ch = rt::connect(addr, self.tls.as_ref(), &self.options)?;
        channels.insert(addr.to_owned(), ch.clone());
        Ok(ch)
    }

    /// The node to try next: the known leader unless it is suspect, else the
    /// next endpoint that is not suspect (the next one at all if every one is).
    pub(crate) fn target(&self) -> String {
        let now = Instant::now();
        let route = self.route.lock();
        if let Some(l) = &route.leader
            && !route.is_suspect(l, now)
        {
            return l.clone();
        }
        let n = self.endpoints.len();
        (0..n)
            .map(|k| &self.endpoints[(route.next + k) % n])
            .find(|e| !route.is_suspect(e, now))
            .unwrap_or(&self.endpoints[route.next % n])
            .clone()
    }

    /// A stub for `addr`.
    pub(crate) fn stub(&self, addr: &str) -> Result<Stub> {
        Ok(TenureClient::with_interceptor(
            self.channel(addr)?,
            self.auth.clone(),
        ))
    }

    /// `addr` answered: remember it as the leader, and trust it again.
    pub(crate) fn answered(&self, addr: &str) {
        let mut route = self.route.lock();
        route.suspect.remove(addr);
        route.leader = Some(addr.to_owned());
    }

    /// A node named `leader` as the leader. Followed unless `leader` is
    /// suspect; returns whether it was.
    pub(crate) fn redirected(&self, leader: &str) -> bool {
        if !self.may_dial(leader) {
            return false;
        }
        let mut route = self.route.lock();
        if route.is_suspect(leader, Instant::now()) {
            return false;
        }
        route.leader = Some(leader.to_owned());
        true
    }

    /// `addr` failed: forget it as leader and move on to the next endpoint.
    pub(crate) fn failed(&self, addr: &str) {
        let mut route = self.route.lock();
        if route.leader.as_deref() == Some(addr) {
            route.leader = None;
        }
        route.next = route.next.wrapping_add(1);
    }

    /// `addr` gave no answer within an attempt timeout: besides [`Conn::failed`],
    /// pass it over for one attempt timeout, drop its connection (a wedged one
    /// would otherwise hold later calls until HTTP/2 keepalive notices), and
    /// make attempts in flight to it give up.
    pub(crate) fn unresponsive(&self, addr: &str) {
        self.failed(addr);
        let until = Instant::now() + self.options.attempt_timeout;
        self.route.lock().suspect.insert(addr.to_owned(), until);
        self.channels.lock().remove(addr);
        self.suspicions.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Resolves once `addr` becomes suspect.
    async fn suspected(&self, addr: &str) {
        let mut rx = self.suspicions.subscribe();
        while rx.changed().await.is_ok() {
            if self.route.lock().is_suspect(addr, Instant::now()) {
                return;
            }
        }
        std::future::pending::<()>().await
    }

    /// The backoff before retry number `attempt` (0-based), with full jitter
    /// over its upper half.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .options
            .initial_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.options.max_backoff);
        let half = base / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }

    /// Runs `call` against the cluster until it succeeds, fails for good, or
    /// `deadline` passes. Each attempt may take at most `attempt_timeout`.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        deadline: Instant,
        attempt_timeout: Duration,
        mut call: F,
    ) -> Result<T>
    where
        F: FnMut(Stub) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut attempt = 0u32;
        let mut redirects = 0u32;
        let mut last = Error::unavailable("no attempt was made");
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(timeout_error(last));
            }
            let addr = self.target();
            let stub = self.stub(&addr)?;
            let budget = attempt_timeout.min(deadline - now);
            let failure = tokio::select! {
                answer = rt::timeout(budget, call(stub)) => match answer {
                    Ok(Ok(resp)) => {
                        self.answered(&addr);
                        return Ok(resp.into_inner());
                    }
                    Ok(Err(status)) => classify(&status),
                    Err(_) => {
                        self.unresponsive(&addr);
                        Failure::Retry(Error::unavailable(format!(
                            "no answer from {addr} within {budget:?}"
                        )))
                    }
                },
                _ = self.suspected(&addr) => Failure::Retry(Error::unavailable(format!(
                    "{addr} stopped answering"
                ))),
            };
            match failure {
                Failure::NotLeader(Some(leader)) if redirects < 3 && leader != addr => {
                    if self.redirected(&leader) {
                        redirects += 1;
                        continue;
                    }
                    // The node has not noticed yet that its leader stopped
                    // answering: ask another after a backoff.
                    last = Error::unavailable(format!(
                        "{addr} names the unresponsive {leader} as leader"
                    ));
                }
                Failure::NotLeader(_) => {
                    last = Error::unavailable(format!("{addr} is not the leader"));
                }
                Failure::Retry(e) => last = e,
                Failure::Fatal(e) => return Err(e),
            }
            tracing::debug!(%addr, error = %last, attempt, "call failed; retrying");
            self.failed(&addr);
            redirects = 0;
            let pause = self
                .backoff(attempt)
                .min(deadline.saturating_duration_since(Instant::now()));
            rt::sleep(pause).await;
            attempt += 1;
        }
    }
}

fn timeout_error(last: Error) -> Error {
    if last.kind() == ErrorKind::Unavailable {
        last
    } else {
        Error::new(ErrorKind::Timeout, last.message().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_normalized_and_validated() {
        assert_eq!(
            normalize("http://127.0.0.1:7100/").ok(),
            Some("127.0.0.1:7100".into())
        );
        assert!(normalize("nohostport").is_err());
        let conn =
            Conn::new(&["a:1,b:2".into(), "c:3".into()], ClientOptions::default()).expect("valid");
        assert_eq!(conn.endpoints().len(), 3);
        assert!(Conn::new(&[], ClientOptions::default()).is_err());
    }

    #[test]
    fn endpoints_only_never_dials_a_learned_address() {
        let endpoints = ["a:1".to_owned(), "b:2".to_owned()];
        let open = Conn::new(&endpoints, ClientOptions::default()).expect("valid");
        assert!(open.redirected("elsewhere:9"));
        assert_eq!(open.target(), "elsewhere:9");
        let pinned = ClientOptions {
            endpoints_only: true,
            ..ClientOptions::default()
        };
        let pinned = Conn::new(&endpoints, pinned).expect("valid");
        assert!(!pinned.redirected("elsewhere:9"));
        assert!(endpoints.contains(&pinned.target()));
        assert!(pinned.channel("elsewhere:9").is_err());
        assert!(pinned.redirected("b:2"));
        assert_eq!(pinned.target(), "b:2");
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let conn = Conn::new(&["a:1".into()], ClientOptions::default()).expect("valid");
        for attempt in 0..40 {
            let b = conn.backoff(attempt);
            assert!(b <= conn.options.max_backoff);
            assert!(b >= conn.options.initial_backoff.min(conn.options.max_backoff) / 2);
        }
    }
}
