//! Releases (and cancels of waiting acquires) that run in the background after
//! a lock handle or an acquire future was dropped. An acquire of the same name
//! by the same session waits for them first: otherwise it would find its own
//! old grant still held and fail with AlreadyHeld (one grant per session).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Background releases in flight, by lock name.
#[derive(Default)]
pub(crate) struct Releasing {
    counts: Mutex<HashMap<String, usize>>,
    done: Notify,
}

/// One background release of a name; it counts until dropped.
pub(crate) struct Ticket {
    releasing: Arc<Releasing>,
    name: String,
}

impl Releasing {
    /// Counts a background release of `name` until the ticket is dropped.
    pub(crate) fn begin(self: &Arc<Self>, name: &str) -> Ticket {
        *self.counts.lock().entry(name.to_owned()).or_default() += 1;
        Ticket {
            releasing: self.clone(),
            name: name.to_owned(),
        }
    }

    /// Returns once no background release of `name` is in flight. Each one
    /// ends within its call timeout, so this wait is bounded.
    pub(crate) async fn settled(&self, name: &str) {
        loop {
            let mut done = std::pin::pin!(self.done.notified());
            // Registered before the check: a release ending in between still
            // wakes this waiter.
            done.as_mut().enable();
            if !self.counts.lock().contains_key(name) {
                return;
            }
            done.await;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        {
            let mut counts = self.releasing.counts.lock();
            if let Some(n) = counts.get_mut(&self.name) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(&self.name);
                }
            }
        }
        self.releasing.done.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn settled_waits_for_every_release_of_its_name_only() {
        let releasing = Arc::new(Releasing::default());
        let first = releasing.begin("a");
        let second = releasing.begin("a");
        let other = releasing.begin("b");
        let waiter = tokio::spawn({
            let releasing = releasing.clone();
            async move { releasing.settled("a").await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        drop(other);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiter.is_finished(),
            "settled before the second release ended"
        );
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("settled after the last release")
            .expect("join");
        // Nothing in flight: at once.
        tokio::time::timeout(Duration::from_millis(100), releasing.settled("a"))
            .await
            .expect("nothing to wait for");
    }
}
