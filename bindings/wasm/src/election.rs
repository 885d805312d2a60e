//! `NativeElection`: leader election on a lock (`Client::election`), and
//! `NativeObserver`, its stream of leaders.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::client::{CancelToken, acquire_promise};
use crate::errors::{opt_duration, promise, to_js, to_value};
use crate::lock::NativeLock;
use crate::records::Leader;

/// The election of one name: the leader is the lock's holder.
#[wasm_bindgen]
pub struct NativeElection {
    inner: tenure::Election,
}

impl NativeElection {
    pub(crate) fn new(inner: tenure::Election) -> Self {
        NativeElection { inner }
    }
}

#[wasm_bindgen]
impl NativeElection {
    /// The election's name (the lock's).
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// Campaigns with `value`: with `waitMs` waits (FIFO) up to that long to
    /// lead (TIMEOUT after), without leads at once or fails with LOCK_HELD.
    /// Resolves with the leadership, a lock. If `cancel` fires first, the
    /// campaign is withdrawn and the promise rejects with CANCELLED.
    #[wasm_bindgen(unchecked_return_type = "Promise<NativeLock>")]
    pub fn campaign(
        &self,
        value: String,
        wait_ms: Option<f64>,
        cancel: &CancelToken,
    ) -> Result<Promise, JsValue> {
        let wait = opt_duration("timeout", wait_ms)?;
        let election = self.inner.clone();
        let what = format!("campaign for {:?}", election.name());
        let work = async move {
            match wait {
                Some(wait) => election.campaign(&value, wait).await,
                None => election.try_campaign(&value).await,
            }
        };
        Ok(acquire_promise(what, cancel, work, NativeLock::new))
    }

    /// The current leader, or null (a linearizable read on the leader node).
    #[wasm_bindgen(unchecked_return_type = "Promise<Leader | null>")]
    pub fn leader(&self) -> Promise {
        let election = self.inner.clone();
        promise(async move {
            let leader = election.leader().await.map_err(to_js)?;
            to_value(&leader.map(Leader::from))
        })
    }

    /// The leaders: first the current one, then after every change. No
    /// network until `next()`.
    pub fn observe(&self) -> NativeObserver {
        NativeObserver {
            inner: self.inner.observe(),
        }
    }
}

/// An election's leaders, one per `next()`.
#[wasm_bindgen]
pub struct NativeObserver {
    inner: tenure::Observer,
}

#[wasm_bindgen]
impl NativeObserver {
    /// The next leader (null: nobody leads); rejects with CANCELLED once closed.
    #[wasm_bindgen(unchecked_return_type = "Promise<Leader | null>")]
    pub fn next(&self) -> Promise {
        let observer = self.inner.clone();
        promise(async move {
            let leader = observer.next().await.map_err(to_js)?;
            to_value(&leader.map(Leader::from))
        })
    }

    /// Stops observing: a pending `next` and every later one reject with
    /// CANCELLED (idempotent).
    pub fn close(&self) {
        self.inner.close();
    }
}
