//! `NativeWatcher`: the core's watch of the locks under a name prefix
//! (`Client::watch`).

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{num, to_napi};
use crate::records::WatchBatch;

/// The changes of every lock under a prefix: `next()` resolves with the next
/// batch (reconnects and resumes happen inside the core).
#[napi]
pub struct NativeWatcher {
    inner: tenure::Watcher,
}

impl NativeWatcher {
    pub(crate) fn new(inner: tenure::Watcher) -> Self {
        NativeWatcher { inner }
    }
}

#[napi]
impl NativeWatcher {
    /// The prefix watched.
    #[napi(getter)]
    pub fn prefix(&self) -> String {
        self.inner.prefix().to_owned()
    }

    /// The revision of the last batch returned (or the start revision).
    #[napi(getter)]
    pub fn revision(&self) -> f64 {
        num(self.inner.revision())
    }

    /// The next batch; rejects with CANCELLED once closed.
    #[napi]
    pub async fn next(&self) -> Result<WatchBatch> {
        let batch = self.inner.next().await.map_err(to_napi)?;
        Ok(batch.into())
    }

    /// Ends the watch: a pending `next` and every later one reject with
    /// CANCELLED, and the core drops the server's stream (idempotent).
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
