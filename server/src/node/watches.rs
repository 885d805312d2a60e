//! The watch hub: the lock changes this node applied, kept for watchers.
//!
//! The hub lives in the shared state and is fed under its mutex as entries
//! apply, so a watcher that reads the state and subscribes under the same
//! mutex misses nothing and sees nothing twice. It keeps the last
//! [`BACKLOG`] changes so that a watcher that reconnects (to this node, or to
//! another: revisions are the same on every replica) resumes where it
//! stopped; past that it starts over from the state.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::machine::LockEvent;

/// Changes kept for resuming watchers.
pub const BACKLOG: usize = 4_096;
/// Changes queued per watcher before it counts as fallen behind (it then
/// starts over from the state).
pub const QUEUE: usize = 1_024;

/// What a watcher hears from the hub.
#[derive(Debug, Clone)]
pub enum HubMsg {
    /// One change, in revision order.
    Change(Arc<LockEvent>),
    /// A snapshot replaced the state: start over from it.
    Reset,
}

/// Recent changes and the watchers' channel.
pub struct WatchHub {
    backlog: VecDeque<Arc<LockEvent>>,
    tx: broadcast::Sender<HubMsg>,
}

impl Default for WatchHub {
    fn default() -> Self {
        WatchHub {
            backlog: VecDeque::new(),
            tx: broadcast::channel(QUEUE).0,
        }
    }
}

impl WatchHub {
    /// Records an applied change and passes it to every watcher.
    pub fn publish(&mut self, event: LockEvent) {
        let event = Arc::new(event);
        self.backlog.push_back(event.clone());
        if self.backlog.len() > BACKLOG {
            self.backlog.pop_front();
        }
        // Err: nobody watches.
        let _ = self.tx.send(HubMsg::Change(event));
    }

    /// A snapshot replaced the state: the backlog no longer leads up to it.
    pub fn reset(&mut self) {
        self.backlog.clear();
        let _ = self.tx.send(HubMsg::Reset);
    }

    /// A receiver of every change published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HubMsg> {
        self.tx.subscribe()
    }

    /// The changes after `revision` up to `current` (the machine's revision),
    /// if the backlog still has all of them; None if a watcher resuming from
    /// `revision` must start over (too old, or ahead of this node).
    pub fn since(&self, revision: u64, current: u64) -> Option<Vec<Arc<LockEvent>>> {
        if revision > current {
            return None;
        }
        if revision == current {
            return Some(Vec::new());
        }
        let first = self.backlog.front()?.revision;
        if revision.checked_add(1)? < first {
            return None;
        }
        Some(
            self.backlog
                .iter()
                .filter(|e| e.revision > revision)
                .cloned()
                .collect(),
        )
    }

    /// Watchers subscribed now.
    pub fn watchers(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{Change, Mode};

    fn event(revision: u64) -> LockEvent {
        LockEvent {
            revision,
            change: Change::Granted,
            name: "x".into(),
            session: 1,
            token: revision,
            owner: 1,
            mode: Mode::Exclusive,
            value: String::new(),
            request: 0,
            at_ms: 0,
        }
    }

    #[test]
    fn resumes_from_the_backlog_and_starts_over_past_it() {
        let mut hub = WatchHub::default();
        // Nothing changed yet: resuming from 0 at revision 0 is nothing to send.
        assert_eq!(hub.since(0, 0).map(|v| v.len()), Some(0));
        for r in 1..=(BACKLOG as u64 + 10) {
            hub.publish(event(r));
        }
        let current = BACKLOG as u64 + 10;
        let tail = hub.since(current - 3, current).expect("in the backlog");
        assert_eq!(
            tail.iter().map(|e| e.revision).collect::<Vec<_>>(),
            vec![current - 2, current - 1, current]
        );
        // The oldest change kept is 11: resuming from 10 still works, from 9 not.
        assert_eq!(hub.since(10, current).map(|v| v.len()), Some(BACKLOG));
        assert!(hub.since(9, current).is_none());
        // A watcher ahead of this node starts over.
        assert!(hub.since(current + 1, current).is_none());
        hub.reset();
        assert!(hub.since(current - 1, current).is_none());
        assert_eq!(hub.since(current, current).map(|v| v.len()), Some(0));
    }
}
