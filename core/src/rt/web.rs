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

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use js_sys::wasm_bindgen::{JsCast, JsValue};
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen_futures::JsFuture;

use super::Instant;

/// A sleep on the host's own timer: one `setTimeout` per sleep, cleared when
/// the sleep is dropped. (wasmtimer's shared timer is not used for sleeping:
/// in 0.4.5 every cleared timeout leaks a callback that holds the timer, and
/// the timer stops re-arming for good once twenty hold it, which silenced the
/// heartbeat and the watchdog about a second after connecting.)
pub(crate) struct Sleep {
    fired: JsFuture,
    handle: JsValue,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.fired).poll(cx).map(|_| ())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(clear) = global_fn("clearTimeout") {
            let _ = clear.call1(&js_sys::global(), &self.handle);
        }
    }
}

/// A function of the global scope (window, worker, Node, Deno).
fn global_fn(name: &str) -> Option<Function> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()?
        .dyn_into::<Function>()
        .ok()
}

/// Sleeps for `duration` (rounded up to whole milliseconds, so never short).
pub(crate) fn sleep(duration: Duration) -> Sleep {
    let ms = (duration.as_secs_f64() * 1000.0)
        .ceil()
        .min(f64::from(i32::MAX));
    let mut handle = JsValue::UNDEFINED;
    let fired = Promise::new(&mut |resolve, _reject| {
        if let Some(set) = global_fn("setTimeout") {
            // Without a host timer the sleep never ends (there is no clock to wait on).
            if let Ok(h) = set.call2(&js_sys::global(), &resolve, &JsValue::from_f64(ms)) {
                handle = h;
            }
        }
    });
    Sleep {
        fired: JsFuture::from(fired),
        handle,
    }
}

/// Sleeps until `deadline`.
pub(crate) fn sleep_until(deadline: Instant) -> Sleep {
    sleep(deadline.saturating_duration_since(Instant::now()))
}

/// `work` did not finish within the time given.
#[derive(Debug)]
pub(crate) struct Elapsed;

/// Runs `work` for at most `duration`.
pub(crate) async fn timeout<F: Future>(duration: Duration, work: F) -> Result<F::Output, Elapsed> {
    tokio::select! {
        out = work => Ok(out),
        _ = sleep(duration) => Err(Elapsed),
    }
}

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
