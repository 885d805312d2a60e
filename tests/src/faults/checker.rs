//! Checks a fault run's history against the guarantees.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::history::Event;

/// One broken guarantee, with the window that shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    /// Which check.
    pub check: &'static str,
    /// What was seen.
    pub detail: String,
}

/// What the cluster and the store hold after the run.
#[derive(Debug, Clone, Default)]
pub struct FinalState {
    /// A node that did not apply what the leader had committed in time.
    pub lagging: Option<Violation>,
    /// The token the next grant would get.
    pub next_token: u64,
    /// Locks still held or waited for after every worker closed: (lock,
    /// sessions holding or waiting).
    pub locks_left: Vec<(String, Vec<u64>)>,
    /// Accepted records in the store: (lock, token) in insertion order.
    pub records: Vec<(String, u64)>,
}

/// Runs every check; an empty result means the history is clean.
pub fn check(events: &[Event], end: &FinalState, ttl_ns: u64) -> Vec<Violation> {
    let mut v: Vec<Violation> = end.lagging.iter().cloned().collect();
    check_beliefs(events, &mut v);
    check_permits(events, &mut v);
    check_observers(events, &mut v);
    check_tokens(events, end, &mut v);
    check_durability(events, end, &mut v);
    check_sessions(events, ttl_ns, &mut v);
    v
}

/// G3: belief intervals of one lock never overlap.
fn check_beliefs(events: &[Event], v: &mut Vec<Violation>) {
    let mut by_lock: BTreeMap<&str, Vec<(u64, u64, u32, u64)>> = BTreeMap::new();
    for e in events {
        if let Event::Hold {
            lock,
            grant,
            belief_end,
            worker,
            token,
            permits_of: 0,
            ..
        } = e
        {
            by_lock
                .entry(lock)
                .or_default()
                .push((*grant, *belief_end, *worker, *token));
        }
    }
    for (lock, mut holds) in by_lock {
        holds.sort();
        let mut latest: Option<(u64, u32, u64)> = None; // (end, worker, token)
        for (grant, end, worker, token) in holds {
            if let Some((prev_end, prev_worker, prev_token)) = latest
                && prev_end > grant
            {
                v.push(Violation {
                    check: "G3 belief intervals overlap",
                    detail: format!(
                        "{lock}: worker {prev_worker} (token {prev_token}) believed until {prev_end} ns, \
                         worker {worker} (token {token}) was granted at {grant} ns ({} us overlap)",
                        (prev_end - grant) / 1_000
                    ),
                });
            }
            if latest.is_none_or(|(e, _, _)| end > e) {
                latest = Some((end, worker, token));
            }
        }
    }
}

/// Semaphores: at no instant do more clients believe they hold a permit of a
/// semaphore than it has permits (each worker hold takes one).
fn check_permits(events: &[Event], v: &mut Vec<Violation>) {
    // Per semaphore: its permits and the edges (time, +1 grant / -1 end); an
    // end at the instant of a grant comes first (as `prev_end > grant` in
    // check_beliefs).
    type Edges = Vec<(u64, i32)>;
    let mut by_name: BTreeMap<&str, (u32, Edges)> = BTreeMap::new();
    for e in events {
        if let Event::Hold {
            lock,
            grant,
            belief_end,
            permits_of,
            ..
        } = e
            && *permits_of > 0
        {
            let (limit, edges) = by_name.entry(lock).or_insert((*permits_of, Vec::new()));
            *limit = (*limit).min(*permits_of);
            edges.push((*grant, 1));
            edges.push((*belief_end, -1));
        }
    }
    for (name, (limit, mut edges)) in by_name {
        edges.sort();
        let (mut holders, mut worst) = (0i64, (0i64, 0u64));
        for (at, step) in edges {
            holders += i64::from(step);
            if holders > worst.0 {
                worst = (holders, at);
            }
        }
        if worst.0 > i64::from(limit) {
            v.push(Violation {
                check: "semaphore holders beyond its permits",
                detail: format!(
                    "{name}: {} clients believed they held one of its {limit} permits at {} ns",
                    worst.0, worst.1
                ),
            });
        }
    }
}

/// Elections: each observer sees leaders in fencing-token order (a leader, or
/// nobody, then only a leader with a token at least as great: the same one
/// after a proclaim, a later one after a change).
fn check_observers(events: &[Event], v: &mut Vec<Violation>) {
    let mut last: BTreeMap<u32, (u64, u64)> = BTreeMap::new(); // worker -> (token, at)
    for e in events {
        let Event::Observed {
            worker, at, token, ..
        } = e
        else {
            continue;
        };
        if *token == 0 {
            continue;
        }
        if let Some((seen, seen_at)) = last.get(worker)
            && token < seen
        {
            v.push(Violation {
                check: "observer saw leaders out of token order",
                detail: format!(
                    "worker process {worker} observed leader token {token} at {at} ns after \
                     leader token {seen} at {seen_at} ns"
                ),
            });
        }
        let entry = last.entry(*worker).or_insert((*token, *at));
        if *token >= entry.0 {
            *entry = (*token, *at);
        }
    }
}

/// G2: no token granted twice; per lock, tokens rise in grant order; the store
/// accepted no token below one it had accepted.
fn check_tokens(events: &[Event], end: &FinalState, v: &mut Vec<Violation>) {
    let mut seen = HashSet::new();
    let mut by_lock: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    for e in events {
        if let Event::Acquire {
            ok: true,
            token,
            lock,
            complete,
            permits_of,
            ..
        } = e
        {
            if !seen.insert(*token) {
                v.push(Violation {
                    check: "G2 token granted twice",
                    detail: format!("token {token} ({lock})"),
                });
            }
            // Grants of a semaphore overlap, so clients may receive them in
            // either order; only a lock's grants are serial.
            if *permits_of == 0 {
                by_lock.entry(lock).or_default().push((*complete, *token));
            }
        }
    }
    for (lock, mut grants) in by_lock {
        grants.sort();
        for w in grants.windows(2) {
            // Grants of one lock are ordered by the server; a client receives a
            // later grant only after the earlier holder let go, so order holds.
            if w[1].1 < w[0].1 {
                v.push(Violation {
                    check: "G2 tokens out of grant order",
                    detail: format!("{lock}: token {} received after token {}", w[1].1, w[0].1),
                });
            }
        }
    }
    let mut highest: HashMap<&str, u64> = HashMap::new();
    for (lock, token) in &end.records {
        let h = highest.entry(lock).or_insert(0);
        if token < h {
            v.push(Violation {
                check: "G2 store accepted a stale token",
                detail: format!("{lock}: token {token} after {h}"),
            });
        }
        *h = (*h).max(*token);
    }
}

/// G4/G5: what was acknowledged is there after recovery, and nothing twice.
fn check_durability(events: &[Event], end: &FinalState, v: &mut Vec<Violation>) {
    let max_token = events
        .iter()
        .filter_map(|e| match e {
            Event::Acquire {
                ok: true, token, ..
            } => Some(*token),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    if end.next_token <= max_token {
        v.push(Violation {
            check: "G4 token counter went back",
            detail: format!(
                "next token {} after acknowledged token {max_token}",
                end.next_token
            ),
        });
    }
    let mut accepted: HashMap<(&str, u64), usize> = HashMap::new();
    for e in events {
        if let Event::Write {
            accepted: true,
            lock,
            token,
            ..
        } = e
        {
            *accepted.entry((lock.as_str(), *token)).or_default() += 1;
        }
    }
    let mut stored: HashMap<(&str, u64), usize> = HashMap::new();
    for (lock, token) in &end.records {
        *stored.entry((lock.as_str(), *token)).or_default() += 1;
    }
    for (key, n) in &accepted {
        let have = stored.get(key).copied().unwrap_or(0);
        if have < *n {
            v.push(Violation {
                check: "G4 acknowledged write lost",
                detail: format!("{} token {}: {n} acknowledged, {have} stored", key.0, key.1),
            });
        }
    }
    for (lock, sessions) in &end.locks_left {
        let seen: Vec<String> = events
            .iter()
            .filter(|e| e.session().is_some_and(|s| sessions.contains(&s)))
            .rev()
            .take(3)
            .filter_map(|e| serde_json::to_string(e).ok())
            .collect();
        v.push(Violation {
            check: "G5 grant nobody knows of",
            detail: format!(
                "{lock} still held or waited for by sessions {sessions:?} after every worker \
                 released and closed; their last events: {seen:?}"
            ),
        });
    }
}

/// Every worker process did some work: a run with no grant, or with a worker
/// that wrote nothing, checked nothing.
/// Client k of worker process w records worker number `w * clients + k`.
pub fn check_activity(events: &[Event], workers: usize, clients: usize) -> Vec<Violation> {
    let mut v = Vec::new();
    let mut granted = vec![0u64; workers];
    let (mut grants, mut permits) = (0u64, 0u64);
    for e in events {
        if let Event::Acquire {
            ok: true,
            worker,
            permits_of,
            ..
        } = e
        {
            grants += 1;
            permits += u64::from(*permits_of > 0);
            let process = (*worker as usize) / clients.max(1);
            if let Some(n) = granted.get_mut(process) {
                *n += 1;
            }
        }
    }
    if grants == 0 {
        v.push(Violation {
            check: "no operations",
            detail: "no lock was granted in the whole run".into(),
        });
    }
    // One acquire in four is of the semaphore: none in a run of dozens means
    // the semaphore check saw nothing.
    if grants >= 40 && permits == 0 {
        v.push(Violation {
            check: "no operations",
            detail: format!("no semaphore permit among {grants} grants"),
        });
    }
    // One round in about 20 takes two locks at once: two grants of one
    // worker with one invoke time. None in a long run means acquire_all
    // went unchecked.
    let mut rounds = HashSet::new();
    let together = events
        .iter()
        .filter(|e| match e {
            Event::Acquire {
                ok: true,
                worker,
                invoke,
                permits_of: 0,
                ..
            } => !rounds.insert((*worker, *invoke)),
            _ => false,
        })
        .count();
    if grants >= 200 && together == 0 {
        v.push(Violation {
            check: "no operations",
            detail: format!("no acquire_all among {grants} grants"),
        });
    }
    // Leaders were elected: an observer that reported none watched nothing.
    let elected = events
        .iter()
        .filter(|e| matches!(e, Event::Acquire { ok: true, lock, .. } if lock == super::worker::ELECTION))
        .count();
    let observed = events
        .iter()
        .filter(|e| matches!(e, Event::Observed { token, .. } if *token > 0))
        .count();
    if elected >= 3 && observed == 0 {
        v.push(Violation {
            check: "no operations",
            detail: format!("{elected} leaders elected, none observed"),
        });
    }
    for (w, n) in granted.iter().enumerate() {
        if *n == 0 {
            v.push(Violation {
                check: "no operations",
                detail: format!("worker process {w} was granted no lock"),
            });
        }
    }
    v
}

/// The server never ends a session its client still counts alive (G3), in any
/// fault: a session the server ended before the client's local expiry
/// (`early`) is a violation whatever faults ran. A session whose client could
/// not renew it for a TTL (its own local expiry passed) must fall in or right
/// after a fault; otherwise renewals failed in a healthy cluster.
fn check_sessions(events: &[Event], ttl_ns: u64, v: &mut Vec<Violation>) {
    let windows: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Fault { start, end, .. } => Some((*start, *end)),
            _ => None,
        })
        .collect();
    for e in events {
        let Event::SessionLost {
            worker,
            at,
            reason,
            session,
            early,
            ..
        } = e
        else {
            continue;
        };
        let near = |start: u64, end: u64| *at + ttl_ns >= start && *at <= end + 2 * ttl_ns;
        let what = if *early {
            "server ended a session its client still counted alive"
        } else if !windows.iter().any(|(start, end)| near(*start, *end)) {
            "session lost without a fault"
        } else {
            continue;
        };
        v.push(Violation {
            check: "session of a healthy client expired",
            detail: format!("worker {worker} session {session} at {at} ns ({reason}): {what}"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(worker: u32, token: u64, grant: u64, end: u64) -> Event {
        Event::Hold {
            worker,
            lock: "l".into(),
            token,
            session: worker as u64,
            grant,
            belief_end: end,
            lost: None,
            permits_of: 0,
        }
    }

    fn permit(worker: u32, token: u64, grant: u64, end: u64) -> Event {
        match hold(worker, token, grant, end) {
            Event::Hold {
                worker,
                token,
                session,
                grant,
                belief_end,
                lost,
                ..
            } => Event::Hold {
                worker,
                lock: "sem".into(),
                token,
                session,
                grant,
                belief_end,
                lost,
                permits_of: 2,
            },
            other => other,
        }
    }

    #[test]
    fn more_permit_holders_than_permits_are_caught_and_as_many_are_not() {
        // Two overlapping holders of a 2-permit semaphore: fine (and no G3
        // overlap, which is for locks); a third overlapping one is not.
        let two = vec![
            permit(1, 1, 0, 100),
            permit(2, 2, 50, 200),
            permit(3, 3, 100, 300),
        ];
        let mut v = Vec::new();
        check_permits(&two, &mut v);
        check_beliefs(&two, &mut v);
        assert!(v.is_empty(), "{v:?}");
        let three = vec![
            permit(1, 1, 0, 100),
            permit(2, 2, 50, 200),
            permit(3, 3, 99, 300),
        ];
        check_permits(&three, &mut v);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].check, "semaphore holders beyond its permits");
    }

    #[test]
    fn overlapping_beliefs_are_caught() {
        let events = vec![hold(1, 1, 0, 100), hold(2, 2, 90, 200)];
        let v = check(
            &events,
            &FinalState {
                next_token: 3,
                ..Default::default()
            },
            1,
        );
        assert!(v.iter().any(|x| x.check.starts_with("G3")), "{v:?}");
        let events = vec![hold(1, 1, 0, 100), hold(2, 2, 100, 200)];
        let v = check(
            &events,
            &FinalState {
                next_token: 3,
                ..Default::default()
            },
            1,
        );
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn stale_store_writes_and_lost_writes_are_caught() {
        let end = FinalState {
            next_token: 10,
            records: vec![("l".into(), 5), ("l".into(), 4)],
            ..FinalState::default()
        };
        let events = vec![Event::Write {
            worker: 1,
            lock: "l".into(),
            token: 7,
            at: 1,
            accepted: true,
        }];
        let v = check(&events, &end, 1);
        assert!(
            v.iter()
                .any(|x| x.check == "G2 store accepted a stale token")
        );
        assert!(v.iter().any(|x| x.check == "G4 acknowledged write lost"));
    }

    fn lost(early: bool) -> Event {
        Event::SessionLost {
            process: 1,
            worker: 1,
            session: 9,
            at: 5_000,
            reason: "session expired".into(),
            early,
        }
    }

    fn fault(kind: &str) -> Event {
        Event::Fault {
            kind: kind.into(),
            target: "worker-1".into(),
            start: 1_000,
            end: 4_000,
        }
    }

    fn sessions(events: &[Event]) -> Vec<Violation> {
        let end = FinalState {
            next_token: 1,
            ..Default::default()
        };
        check(events, &end, 1_000)
    }

    #[test]
    fn a_server_ending_a_live_session_is_never_excused() {
        assert_eq!(sessions(&[lost(true)]).len(), 1);
        for kind in [
            "pause-client",
            "partition-client",
            "kill-all",
            "kill-leader",
        ] {
            let v = sessions(&[fault(kind), lost(true)]);
            assert_eq!(v.len(), 1, "{kind}: {v:?}");
        }
    }

    #[test]
    fn a_session_the_client_itself_let_lapse_needs_a_fault() {
        assert_eq!(sessions(&[lost(false)]).len(), 1);
        let v = sessions(&[fault("partition-client"), lost(false)]);
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn a_run_without_grants_or_with_an_idle_worker_fails() {
        let grant = |worker| Event::Acquire {
            worker,
            lock: "l".into(),
            invoke: 0,
            complete: 1,
            ok: true,
            token: u64::from(worker) + 1,
            session: 1,
            error: None,
            permits_of: 0,
        };
        assert_eq!(check_activity(&[], 1, 1).len(), 2);
        // Two processes of two clients each: worker numbers 0-1 and 2-3.
        assert_eq!(check_activity(&[grant(1)], 2, 2).len(), 1);
        assert!(check_activity(&[grant(1), grant(2)], 2, 2).is_empty());
    }
}
