//! Leader election on a lock: campaign (wait to lead, with a value such as
//! the leader's address), proclaim (replace the value while leading), resign,
//! and observe (every change of leader, the leader going away included).
//!
//! An election is a lock of its name: the leader is its holder, the value the
//! holder's value, and the leadership a [`Lock`] with its fencing token, lost
//! notification and release. Leaders follow each other in fencing-token
//! order, since every grant takes a greater token (G2). Observers follow the
//! lock's watch ([`crate::Watcher`]), so they see each change in revision order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::admin::{LockInfo, WatchBatch, WatchEvent};
use crate::client::{Client, validate_lock_name, validate_lock_value};
use crate::error::Result;
use crate::lock::Lock;
use crate::options::AcquireOptions;
use crate::watch::{LockChange, Watcher};

use crate::admin::Leader;

/// An election (a lock of the same name), from [`Client::election`].
#[derive(Clone, Debug)]
pub struct Election {
    client: Client,
    name: String,
}

impl Election {
    pub(crate) fn new(client: Client, name: &str) -> Result<Election> {
        validate_lock_name(name)?;
        Ok(Election {
            client,
            name: name.to_owned(),
        })
    }

    /// The election's name (the lock's).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits (FIFO, up to `timeout`) to lead, with `value` (for example this
    /// node's address) shown to observers. The leadership is a [`Lock`]:
    /// its fencing token orders leaders, `lost()` says when leadership ends,
    /// `set_value` proclaims, `release` resigns. Fails with `Timeout` if not
    /// elected in time, `AlreadyHeld` if this client leads already.
    pub async fn campaign(&self, value: &str, timeout: Duration) -> Result<Lock> {
        validate_lock_value(value)?;
        let options = AcquireOptions::wait(timeout).with_value(value);
        self.client.acquire(&self.name, options).await
    }

    /// Leads at once if nobody does; fails with `LockHeld` otherwise.
    pub async fn try_campaign(&self, value: &str) -> Result<Lock> {
        validate_lock_value(value)?;
        let options = AcquireOptions::try_once().with_value(value);
        self.client.acquire(&self.name, options).await
    }

    /// The current leader, if any (a linearizable read on the leader node).
    pub async fn leader(&self) -> Result<Option<Leader>> {
        let info = self.client.describe(&self.name).await?;
        Ok(info.and_then(|l| leader_of(&l)))
    }

    /// A stream of leader changes: first the current leader (None if nobody
    /// leads), then every change, each leader's going away included.
    pub fn observe(&self) -> Observer {
        Observer {
            name: self.name.clone(),
            watcher: self.client.watch_from(&self.name, 0),
            state: Arc::new(tokio::sync::Mutex::new(ObserverState::default())),
        }
    }
}

/// The leader a lock's state shows (its holder).
fn leader_of(lock: &LockInfo) -> Option<Leader> {
    lock.holders.first().map(|h| Leader {
        name: lock.name.clone(),
        session_id: h.session_id,
        token: h.token,
        owner_id: h.owner_id.clone(),
        value: h.value.clone(),
    })
}

#[derive(Default)]
struct ObserverState {
    /// The leader as of the last change seen.
    current: Option<Leader>,
    /// Leader changes seen but not yet returned, in order.
    pending: VecDeque<Option<Leader>>,
    /// Whether the first answer (the leader at the start) was given.
    started: bool,
}

impl ObserverState {
    fn push(&mut self, next: Option<Leader>) {
        if next != self.current || !self.started {
            self.started = true;
            self.current = next.clone();
            self.pending.push_back(next);
        }
    }

    fn apply(&mut self, name: &str, batch: WatchBatch) {
        if batch.reset {
            let lock = batch.locks.iter().find(|l| l.name == name);
            self.push(lock.and_then(leader_of));
        }
        for e in batch.events.iter().filter(|e| e.name == name) {
            if let Some(next) = self.after(e) {
                self.push(next);
            }
        }
    }

    /// The leader after `e`, if `e` changes it.
    fn after(&self, e: &WatchEvent) -> Option<Option<Leader>> {
        let is_current = self
            .current
            .as_ref()
            .is_some_and(|l| l.owner_id == e.owner_id);
        match e.change {
            LockChange::Granted => Some(Some(Leader {
                name: e.name.clone(),
                session_id: e.session_id,
                token: e.token,
                owner_id: e.owner_id.clone(),
                value: e.value.clone(),
            })),
            change if change.ends_grant() && is_current => Some(None),
            LockChange::ValueChanged if is_current => {
                let mut leader = self.current.clone();
                if let Some(l) = leader.as_mut() {
                    l.value = e.value.clone();
                }
                Some(leader)
            }
            _ => None,
        }
    }
}

/// Leader changes of one election, from [`Election::observe`]. Cloning is
/// cheap; `close` from any clone ends a waiting `next`.
#[derive(Clone, Debug)]
pub struct Observer {
    name: String,
    watcher: Watcher,
    state: Arc<tokio::sync::Mutex<ObserverState>>,
}

impl std::fmt::Debug for ObserverState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverState")
            .field("current", &self.current)
            .finish()
    }
}

impl Observer {
    /// The next leader: at first the current one, then after each change
    /// (None when the leader went away: resigned, expired, force-released).
    /// Reconnects as [`Watcher::next`] does; after `close`, fails with
    /// `Cancelled`.
    pub async fn next(&self) -> Result<Option<Leader>> {
        let mut state = self.state.lock().await;
        loop {
            if let Some(next) = state.pending.pop_front() {
                return Ok(next);
            }
            let batch = self.watcher.next().await?;
            state.apply(&self.name, batch);
        }
    }

    /// Stops observing: a waiting `next` and every later one fail with
    /// `Cancelled`.
    pub fn close(&self) {
        self.watcher.close();
    }
}
