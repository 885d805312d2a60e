//! Acquire-all: several locks granted in one command, all or none. A try
//! grants every name at once or refuses; a waiting one queues an entry in
//! every name's FIFO queue in the same command, and is granted when it heads
//! all of them and each admits it. Entries are appended in one command, so
//! two waiters that share names are in the same order in every shared queue:
//! no cycle of waiters, so no deadlock; and nothing is held while waiting.

use super::*;

impl Machine {
    /// Grants every (name, owner) of `w.group` at once, queues `w` in every
    /// name's queue for `wait_ms`, or refuses (LockHeld names the first that
    /// could not be granted at once). `count` is the number of names the
    /// command gave (a group with repeated names or other owners than names
    /// grants nothing: the API refuses those).
    pub(super) fn acquire_all(
        &mut self,
        count: usize,
        wait_ms: Option<u64>,
        mut w: Waiter,
    ) -> Outcome {
        let first = w.group.first().map(|(n, _)| n.clone()).unwrap_or_default();
        let unique: BTreeSet<&String> = w.group.iter().map(|(n, _)| n).collect();
        if w.group.is_empty() || unique.len() != w.group.len() || count != w.group.len() {
            return Outcome::Rejected(Rejection::LockHeld(first));
        }
        #[cfg(test)]
        if tests::PARTIAL_ACQUIRE_ALL.get() {
            return self.grant_what_is_free(&w);
        }
        for (name, owner) in &w.group {
            if let Some(refused) = self.refuse_always(name, *owner, &w) {
                return refused;
            }
        }
        let busy = w
            .group
            .iter()
            .find(|(name, _)| !self.grantable_now(name, w.mode))
            .map(|(name, _)| name.clone());
        let Some(busy) = busy else {
            w.deadline_ms = self.time_ms;
            return Outcome::GrantedAll(self.grant_each(&w));
        };
        let Some(ms) = wait_ms.filter(|&ms| ms > 0) else {
            return Outcome::Rejected(Rejection::LockHeld(busy));
        };
        w.deadline_ms = self.time_ms.saturating_add(ms);
        self.enqueue_group(&w);
        // Nothing to promote: some name was not grantable, and an entry at
        // the end of a queue is never ahead of anyone.
        Outcome::Queued
    }

    /// Why `w` may never be granted `name` as things stand, whatever the wait
    /// (the checks an acquire makes before it looks at the queue).
    fn refuse_always(&self, name: &str, owner: OwnerId, w: &Waiter) -> Option<Outcome> {
        if self.sessions.get(&w.session).is_some_and(|s| s.blacklisted) {
            return Some(Outcome::Rejected(Rejection::SessionBlacklisted(w.session)));
        }
        let lock = self.locks.get(name)?;
        if let Some(Some(limit)) = lock.permit_limit() {
            return Some(Outcome::Rejected(Rejection::Mismatch {
                name: name.to_owned(),
                is: format!("a semaphore of {limit} permits"),
                asked: "a lock".to_owned(),
            }));
        }
        if lock.holders.iter().any(|h| h.session == w.session) {
            return Some(Outcome::Rejected(Rejection::AlreadyHeld(name.to_owned())));
        }
        let owner_taken = lock.holders.iter().any(|h| h.owner == owner)
            || lock.waiters.iter().any(|x| x.owner == owner);
        owner_taken.then(|| Outcome::Rejected(Rejection::LockHeld(name.to_owned())))
    }

    /// Whether `name` could be granted in `mode` now by a newcomer: nobody
    /// waits, no lock-delay, and the holders admit it.
    fn grantable_now(&self, name: &str, mode: Mode) -> bool {
        self.locks.get(name).is_none_or(|l| {
            l.waiters.is_empty() && l.delayed_until_ms <= self.time_ms && l.admits(mode)
        })
    }

    /// Grants each name of `w.group` (in order), with its own owner id.
    fn grant_each(&mut self, w: &Waiter) -> Vec<Grant> {
        w.group
            .iter()
            .map(|(name, owner)| {
                let entry = Waiter {
                    owner: *owner,
                    ..w.clone()
                };
                self.grant(name, &entry)
            })
            .collect()
    }

    /// Appends `w`'s entry to every queue of its group (one timer each, as
    /// `rebuild_indexes` derives them), recorded under its first name.
    fn enqueue_group(&mut self, w: &Waiter) {
        for (name, owner) in &w.group {
            let entry = Waiter {
                owner: *owner,
                ..w.clone()
            };
            self.locks
                .entry(name.clone())
                .or_default()
                .waiters
                .push_back(entry.clone());
            self.wait_timers
                .insert((w.deadline_ms, name.clone(), w.session, w.request));
            self.note(Change::WaiterAdded, name, entry.party());
        }
        if let (Some(s), Some((first, _))) = (self.sessions.get_mut(&w.session), w.group.first()) {
            s.waiting.insert(w.request, first.clone());
        }
    }

    /// If the acquire-all `head` heads every one of its queues and each admits
    /// it: takes its entries out, grants every name and resolves the request
    /// (the caller promotes its other names: they may admit more). None
    /// otherwise.
    pub(super) fn grant_group(
        &mut self,
        head: &Waiter,
        events: &mut Vec<Event>,
    ) -> Option<Vec<Grant>> {
        let now = self.time_ms;
        let ready = head.group.iter().all(|(name, _)| {
            self.locks.get(name).is_some_and(|l| {
                l.delayed_until_ms <= now
                    && l.admits(head.mode)
                    && l.waiters
                        .front()
                        .is_some_and(|f| f.session == head.session && f.request == head.request)
            })
        });
        if !ready {
            return None;
        }
        for (name, _) in &head.group {
            if let Some(lock) = self.locks.get_mut(name) {
                lock.waiters.pop_front();
            }
            self.wait_timers
                .remove(&(head.deadline_ms, name.clone(), head.session, head.request));
        }
        let grants = self.grant_each(head);
        self.resolve(
            head.session,
            head.request,
            Outcome::GrantedAll(grants.clone()),
            events,
        );
        Some(grants)
    }

    /// Negative control (tests): grants the names that are free now and
    /// skips the rest (partial holding).
    #[cfg(test)]
    fn grant_what_is_free(&mut self, w: &Waiter) -> Outcome {
        let free: Vec<(String, OwnerId)> = w
            .group
            .iter()
            .filter(|(name, owner)| {
                self.refuse_always(name, *owner, w).is_none() && self.grantable_now(name, w.mode)
            })
            .cloned()
            .collect();
        let partial = Waiter {
            group: free,
            ..w.clone()
        };
        Outcome::GrantedAll(self.grant_each(&partial))
    }
}
