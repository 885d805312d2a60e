//! WebAssembly hosts (browsers, workers, Node, Deno): timers from the host's
//! `setTimeout`, tasks on the JS event loop, gRPC-web over `fetch`.
//!
//! The host's timers are weak: a hidden tab runs at most one timer a second
//! (or a minute), and a frozen page runs none. The session's watchdog sees such
//! a late timer as a clock jump (Jeopardy, renew at once) and the boot clock
//! ([`crate::clock`]) counts wall-clock time too, so a throttled or suspended
//! page never believes it still holds a lock it may have lost.

use std::future::Future;

use super::Task;
use crate::error::{Error, Result};
use crate::options::ClientOptions;

pub(crate) use wasmtimer::tokio::{sleep, sleep_until, timeout};

/// The gRPC-web client of one node.
pub(crate) type Transport = tonic_web_wasm_client::Client;

/// The JS event loop (there is one per realm, so nothing to remember).
#[derive(Debug, Clone)]
pub(crate) struct Spawner;

impl Spawner {
    /// The event loop of this realm.
    pub(crate) fn current() -> Spawner {
        Spawner
    }

    /// Runs `work` in the background.
    pub(crate) fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + 'static,
    {
        wasm_bindgen_futures::spawn_local(work);
    }
}

/// Runs `work` in the background until it ends or the returned task is aborted.
pub(crate) fn spawn<F>(work: F) -> Task
where
    F: Future<Output = ()> + 'static,
{
    let (work, handle) = futures::future::abortable(work);
    wasm_bindgen_futures::spawn_local(async move {
        let _ = work.await;
    });
    Task(handle)
}

/// TLS on the web is the browser's: `https` to the node, verified against the
/// system's trust store. Certificate files cannot be read or presented here.
#[derive(Clone)]
pub(crate) struct Tls;

/// `Some` when TLS is on; certificate files are refused with a clear error.
pub(crate) fn tls_config(options: &ClientOptions) -> Result<Option<Tls>> {
    let Some(tls) = &options.tls else {
        return Ok(None);
    };
    if tls.ca_file.is_some() || tls.cert_file.is_some() || tls.key_file.is_some() {
        return Err(Error::invalid(
            "certificate files cannot be used in a browser: the browser verifies the \
             node's certificate against its own trust store, and client certificates \
             are the browser's to present; use a bearer token",
        ));
    }
    if tls.server_name.is_some() {
        return Err(Error::invalid(
            "server_name cannot be set in a browser: use the name on the certificate \
             in the endpoint",
        ));
    }
    Ok(Some(Tls))
}

/// A gRPC-web client of `addr` (the node must be started with gRPC-web on).
pub(crate) fn connect(
    addr: &str,
    tls: Option<&Tls>,
    _options: &ClientOptions,
) -> Result<Transport> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    Ok(tonic_web_wasm_client::Client::new(format!(
        "{scheme}://{addr}"
    )))
}

/// A label for the sessions this page opens.
pub(crate) fn default_label() -> String {
    "wasm".to_owned()
}
