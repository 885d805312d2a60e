//! Atomic multi-lock: several locks acquired in one command, all or none
//! (`Client::acquire_all`).
//!
//! The server grants every name at once or none (`AcquireAll`, one Raft
//! command, no queueing), so a caller never holds some of its locks while it
//! waits for the others, and two callers asking for overlapping sets in
//! different orders cannot deadlock. Waiting is a retry of that one command
//! with backoff until the timeout, not a place in the locks' FIFO queues: a
//! caller of `acquire_all` can be overtaken by single acquires of its names.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tenure_proto::v1 as pb;

use crate::client::{Client, millis, validate_lock_name, validate_lock_value};
use crate::error::{Error, ErrorKind, Result};
use crate::lock::Lock;
use crate::options::{AcquireOptions, LockMode};
use crate::rt::{self, Instant};
use crate::session::SessionInner;

/// Most names in one `acquire_all` (the server's limit).
pub const MAX_ACQUIRE_ALL: usize = 64;
/// The longest wait (the server's bound on an acquire's wait).
pub const MAX_WAIT: Duration = Duration::from_secs(3_600);
/// Backoff between tries while waiting: from the first to the most, doubling.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

impl Client {
    /// Acquires every lock of `names` at once, or none: one grant (with its
    /// own fencing token and owner id) per name, in the order given. Without
    /// `options.wait`, one try (`LockHeld` naming the first that is taken);
    /// with it, tries again with backoff until the wait runs out (`Timeout`).
    /// Modes: exclusive or shared for every name; not semaphore permits.
    pub async fn acquire_all(&self, names: &[&str], options: AcquireOptions) -> Result<Vec<Lock>> {
        validate_names(names)?;
        validate_lock_value(&options.value)?;
        if options.wait.is_some_and(|w| w > MAX_WAIT) {
            return Err(Error::invalid(format!(
                "acquire_all waits at most {MAX_WAIT:?}, as an acquire does"
            )));
        }
        if options.mode == LockMode::Permits {
            return Err(Error::invalid(
                "acquire_all takes locks, not semaphore permits",
            ));
        }
        let started = Instant::now();
        let result = self.acquire_all_waiting(names, &options).await;
        for name in names {
            self.count_acquire(name, started, result.as_ref().err());
        }
        result
    }

    async fn acquire_all_waiting(
        &self,
        names: &[&str],
        options: &AcquireOptions,
    ) -> Result<Vec<Lock>> {
        let options = options.clone();
        let deadline = options.wait.map(|w| Instant::now() + w);
        let mut backoff = FIRST_BACKOFF;
        let mut fresh_session = false;
        loop {
            match self.acquire_all_once(names, &options).await {
                // The session ended before anything was granted: go on with
                // a fresh one (once: a second end is the caller's to see).
                Err(e) if e.kind() == ErrorKind::SessionExpired && !fresh_session => {
                    fresh_session = true;
                }
                Err(e) if e.kind() == ErrorKind::LockHeld => {
                    let Some(deadline) = deadline else {
                        return Err(e);
                    };
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(Error::new(
                            ErrorKind::Timeout,
                            format!("timed out waiting for all of {names:?}: {e}"),
                        ));
                    }
                    let jittered = backoff.mul_f64(rand::rng().random_range(0.5..1.0));
                    rt::sleep(jittered.min(deadline - now)).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                other => return other,
            }
        }
    }

    async fn acquire_all_once(
        &self,
        names: &[&str],
        options: &AcquireOptions,
    ) -> Result<Vec<Lock>> {
        let session = self.session().await?;
        for name in names {
            // A background release of one of them would make it AlreadyHeld.
            session.releasing.settled(name).await;
        }
        let req = pb::AcquireAllRequest {
            session_id: session.id,
            request_id: session.next_request_id(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            mode: match options.mode {
                LockMode::Shared => pb::LockMode::Shared,
                _ => pb::LockMode::Exclusive,
            } as i32,
            lock_delay_ms: millis(options.lock_delay),
            value: options.value.clone(),
        };
        // Armed until an answer comes: a call dropped (cancelled) or left
        // without an answer may still have been granted.
        let mut guard = ReleaseGuard(Some((session.clone(), req.clone())));
        let conn = &self.inner_conn();
        let deadline = self.deadline(Duration::ZERO);
        let result = conn
            .call(deadline, conn.options.attempt_timeout, |mut stub| {
                let req = req.clone();
                async move { stub.acquire_all(req).await }
            })
            .await;
        let unanswered = result
            .as_ref()
            .err()
            .is_some_and(|e| matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Timeout));
        if !unanswered {
            guard.0 = None;
        }
        match result {
            Ok(resp) => locks_of(resp.grants, &session).await,
            Err(e) => {
                if e.kind() == ErrorKind::SessionBlacklisted {
                    session.end(crate::session::LostReason::SessionBlacklisted);
                }
                Err(e)
            }
        }
    }
}

fn validate_names(names: &[&str]) -> Result<()> {
    if names.is_empty() || names.len() > MAX_ACQUIRE_ALL {
        return Err(Error::invalid(format!(
            "acquire_all takes 1 to {MAX_ACQUIRE_ALL} lock names, got {}",
            names.len()
        )));
    }
    for (i, name) in names.iter().enumerate() {
        validate_lock_name(name)?;
        if names[..i].contains(name) {
            return Err(Error::invalid(format!("lock {name:?} is named twice")));
        }
    }
    Ok(())
}

/// Lock handles for the grants; if the session's local expiry passed while
/// the answer travelled, every one is released and the call fails (G3).
async fn locks_of(grants: Vec<pb::Grant>, session: &Arc<SessionInner>) -> Result<Vec<Lock>> {
    let locks = grants
        .into_iter()
        .map(|g| Lock::new(g, session.clone()))
        .collect::<Result<Vec<_>>>()?;
    if locks.iter().all(Lock::is_held) {
        return Ok(locks);
    }
    for lock in &locks {
        let _ = lock.release().await;
    }
    Err(Error::new(
        ErrorKind::SessionExpired,
        "session expired while acquiring",
    ))
}

/// Releases in the background what an unanswered or cancelled try may have
/// granted: the same request again gets the recorded answer (G5).
struct ReleaseGuard(Option<(Arc<SessionInner>, pb::AcquireAllRequest)>);

impl Drop for ReleaseGuard {
    fn drop(&mut self) {
        if let Some((session, req)) = self.0.take() {
            release_in_background(session, req);
        }
    }
}

/// Sends `req` again in the background and releases whatever it granted.
fn release_in_background(session: Arc<SessionInner>, req: pb::AcquireAllRequest) {
    let tickets: Vec<_> = req
        .names
        .iter()
        .map(|n| session.releasing.begin(n))
        .collect();
    session.spawner().clone().spawn(async move {
        let _tickets = tickets;
        let conn = session.conn.clone();
        let deadline = Instant::now() + conn.options.call_timeout;
        let result = conn
            .call(deadline, conn.options.attempt_timeout, |mut stub| {
                let req = req.clone();
                async move { stub.acquire_all(req).await }
            })
            .await;
        if let Ok(resp) = result {
            for grant in resp.grants {
                if let Ok(lock) = Lock::new(grant, session.clone()) {
                    let _ = lock.release().await;
                }
            }
        }
    });
}
