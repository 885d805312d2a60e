//! Atomic multi-lock: several locks acquired in one command, all or none
//! (`Client::acquire_all`).
//!
//! The server grants every name at once or none (`AcquireAll`, one Raft
//! command). A waiting call queues in every name's FIFO queue in that same
//! command and is granted when it heads all of them, so a caller never holds
//! some of its locks while it waits for the others, and callers asking for
//! overlapping sets in different orders cannot deadlock (docs/design.md,
//! "Atomic multi-lock").

use std::sync::Arc;
use std::time::Duration;

use tenure_proto::v1 as pb;

use crate::client::{Client, millis, unanswered, validate_lock_name, validate_lock_value};
use crate::error::{Error, ErrorKind, Result};
use crate::lock::Lock;
use crate::options::{AcquireOptions, LockMode};
use crate::rt::Instant;
use crate::session::{LostReason, SessionInner};

/// Most names in one `acquire_all` (the server's limit).
pub const MAX_ACQUIRE_ALL: usize = 64;

impl Client {
    /// Acquires every lock of `names` at once, or none: one grant (with its
    /// own fencing token and owner id) per name, in the order given. Without
    /// `options.wait`, one try (`LockHeld` naming the first that is taken);
    /// with it, waits in every name's FIFO queue at once up to that long
    /// (`Timeout`), holding none of them until it gets them all. Exclusive
    /// or shared for every name; not semaphore permits.
    ///
    /// Cancel-safe: dropping the future withdraws the waiting call and
    /// releases whatever it was granted meanwhile.
    pub async fn acquire_all<S: AsRef<str>>(
        &self,
        names: &[S],
        options: AcquireOptions,
    ) -> Result<Vec<Lock>> {
        let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        validate_names(&names)?;
        validate_lock_value(&options.value)?;
        if options.mode == LockMode::Permits {
            return Err(Error::invalid(
                "acquire_all takes locks, not semaphore permits",
            ));
        }
        let started = Instant::now();
        let mut counted = self.counting(&names, started);
        let result = match self.acquire_all_once(&names, &options).await {
            // The session ended before anything was granted: once more, fresh.
            Err(e) if e.kind() == ErrorKind::SessionExpired => {
                self.acquire_all_once(&names, &options).await
            }
            other => other,
        };
        counted.done(result.as_ref().err());
        result
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
        let wait = options.wait.unwrap_or(Duration::ZERO);
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
            wait: options.wait.is_some(),
            wait_timeout_ms: millis(wait),
        };
        // Armed until an answer comes: a call dropped (cancelled) or left
        // without an answer may still be queued, or granted.
        let mut guard = WithdrawGuard(Some((session.clone(), req.clone())));
        let conn = self.inner_conn();
        let deadline = self.deadline(wait);
        let result = conn
            .call(deadline, conn.options.attempt_timeout + wait, |mut stub| {
                let req = req.clone();
                async move { stub.acquire_all(req).await }
            })
            .await;
        if !unanswered(&result, deadline) {
            guard.0 = None;
        }
        match result {
            Ok(resp) => locks_of(resp.grants, &session).await,
            Err(e) => {
                match e.kind() {
                    ErrorKind::SessionExpired => session.end(LostReason::SessionExpired),
                    ErrorKind::SessionBlacklisted => session.end(LostReason::SessionBlacklisted),
                    _ => {}
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

/// Withdraws, in the background, a call that was cancelled or got no answer:
/// cancels its waiting entry, then sends the same request again, whose
/// recorded answer (G5) says whether it was granted first; if so, releases
/// every grant.
struct WithdrawGuard(Option<(Arc<SessionInner>, pb::AcquireAllRequest)>);

impl Drop for WithdrawGuard {
    fn drop(&mut self) {
        let Some((session, req)) = self.0.take() else {
            return;
        };
        let tickets: Vec<_> = req
            .names
            .iter()
            .map(|n| session.releasing.begin(n))
            .collect();
        session.spawner().clone().spawn(async move {
            let _tickets = tickets;
            let conn = session.conn.clone();
            let deadline = Instant::now() + conn.options.call_timeout;
            let cancel = pb::CancelAcquireRequest {
                session_id: session.id,
                acquire_request_id: req.request_id,
            };
            let _ = conn
                .call(
                    deadline,
                    conn.options.attempt_timeout,
                    |mut stub| async move { stub.cancel_acquire(cancel).await },
                )
                .await;
            let again = conn
                .call(deadline, conn.options.attempt_timeout, |mut stub| {
                    let req = req.clone();
                    async move { stub.acquire_all(req).await }
                })
                .await;
            if let Ok(resp) = again {
                for grant in resp.grants {
                    if let Ok(lock) = Lock::untracked(grant, session.clone()) {
                        let _ = lock.release().await;
                    }
                }
            }
        });
    }
}
