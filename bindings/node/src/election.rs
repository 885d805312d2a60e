//! `NativeElection`: leader election on a lock (`Client::election`), and
//! `NativeObserver`, its stream of leaders.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::client::{CancelToken, acquire_promise};
use crate::errors::{duration, to_napi};
use crate::lock::NativeLock;
use crate::records::Leader;

/// The election of one name: the leader is the lock's holder.
#[napi]
pub struct NativeElection {
    inner: tenure::Election,
}

impl NativeElection {
    pub(crate) fn new(inner: tenure::Election) -> Self {
        NativeElection { inner }
    }
}

#[napi]
impl NativeElection {
    /// The election's name (the lock's).
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// Campaigns with `value`: with `waitMs` waits (FIFO) up to that long to
    /// lead (TIMEOUT after), without leads at once or fails with LOCK_HELD.
    /// Resolves with the leadership, a lock. If `cancel` fires first, the
    /// campaign is withdrawn and the promise rejects with CANCELLED.
    #[napi(ts_return_type = "Promise<NativeLock>")]
    pub fn campaign<'env>(
        &self,
        env: &'env Env,
        value: String,
        wait_ms: Option<f64>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'env, NativeLock>> {
        let wait = wait_ms.map(|ms| duration("timeout", ms)).transpose()?;
        let election = self.inner.clone();
        let what = format!("campaign for {:?}", self.inner.name());
        let work = async move {
            match wait {
                Some(wait) => election.campaign(&value, wait).await,
                None => election.try_campaign(&value).await,
            }
        };
        acquire_promise(env, what, cancel, work, NativeLock::new)
    }

    /// The current leader, or null (a linearizable read on the leader node).
    #[napi]
    pub async fn leader(&self) -> Result<Option<Leader>> {
        let leader = self.inner.leader().await.map_err(to_napi)?;
        Ok(leader.map(Leader::from))
    }

    /// The leaders: first the current one, then after every change. No
    /// network until `next()`.
    #[napi]
    pub fn observe(&self) -> NativeObserver {
        NativeObserver {
            inner: self.inner.observe(),
        }
    }
}

/// An election's leaders, one per `next()`.
#[napi]
pub struct NativeObserver {
    inner: tenure::Observer,
}

#[napi]
impl NativeObserver {
    /// The next leader (null: nobody leads); rejects with CANCELLED once closed.
    #[napi]
    pub async fn next(&self) -> Result<Option<Leader>> {
        let leader = self.inner.next().await.map_err(to_napi)?;
        Ok(leader.map(Leader::from))
    }

    /// Stops observing: a pending `next` and every later one reject with
    /// CANCELLED (idempotent).
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
