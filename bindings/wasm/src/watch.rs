//! `NativeWatcher`: the core's watch of the locks under a name prefix
//! (`Client::watch`), one server-streaming gRPC-web call at a time.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::errors::{num, promise, to_js, to_value};
use crate::records::WatchBatch;

/// The changes of every lock under a prefix: `next()` resolves with the next
/// batch (reconnects and resumes happen inside the core).
#[wasm_bindgen]
pub struct NativeWatcher {
    inner: tenure::Watcher,
}

impl NativeWatcher {
    pub(crate) fn new(inner: tenure::Watcher) -> Self {
        NativeWatcher { inner }
    }
}

#[wasm_bindgen]
impl NativeWatcher {
    /// The prefix watched.
    #[wasm_bindgen(getter)]
    pub fn prefix(&self) -> String {
        self.inner.prefix().to_owned()
    }

    /// The revision of the last batch returned (or the start revision).
    #[wasm_bindgen(getter)]
    pub fn revision(&self) -> f64 {
        num(self.inner.revision())
    }

    /// The next batch; rejects with CANCELLED once closed.
    #[wasm_bindgen(unchecked_return_type = "Promise<WatchBatch>")]
    pub fn next(&self) -> Promise {
        let watcher = self.inner.clone();
        promise(async move {
            let batch = watcher.next().await.map_err(to_js)?;
            to_value(&WatchBatch::from(batch))
        })
    }

    /// Ends the watch: a pending `next` and every later one reject with
    /// CANCELLED, and the core aborts the stream's `fetch` (idempotent).
    pub fn close(&self) {
        self.inner.close();
    }
}
