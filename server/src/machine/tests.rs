//! Unit and property tests of the state machine: G1 (mutual exclusion), G2
//! (tokens strictly increase), FIFO order of waiters, and G5 (a repeated request
//! id applies once).

use super::*;
use proptest::prelude::*;
use std::cell::Cell;

thread_local! {
    /// Negative control: the machine grants semaphore permits past the limit
    /// (`Lock::admits`), which the property harness must report.
    pub(super) static OVERGRANT_PERMITS: Cell<bool> = const { Cell::new(false) };
    /// Negative control: the machine records no change when a session's
    /// grant expires (`Machine::remove_holder`), so a watcher would go on
    /// believing in the holder; the harness's watch mirror must report it.
    pub(super) static SILENT_EXPIRY: Cell<bool> = const { Cell::new(false) };
    /// Negative control: an acquire-all grants the names that are free and
    /// skips the others (partial holding); the harness must report it.
    pub(super) static PARTIAL_ACQUIRE_ALL: Cell<bool> = const { Cell::new(false) };
}

/// Runs `steps` with the negative control `flag` switched on, and returns the
/// message of the panic the harness raised (failing if it raised none).
fn caught(
    flag: &'static std::thread::LocalKey<Cell<bool>>,
    what: &str,
    steps: impl FnOnce() + std::panic::UnwindSafe,
) -> String {
    flag.set(true);
    let result = std::panic::catch_unwind(steps);
    flag.set(false);
    let panic = result.expect_err(what);
    panic.downcast_ref::<String>().cloned().unwrap_or_default()
}

fn batch(time_ms: u64, commands: Vec<Command>) -> Batch {
    Batch { time_ms, commands }
}

/// Applies one command; its outcome and the runtime's events (the lock
/// changes for watchers left out: the watch mirror of the harness checks them).
fn apply1(m: &mut Machine, time_ms: u64, cmd: Command) -> (Outcome, Vec<Event>) {
    let mut events = Vec::new();
    let mut out = m.apply(&batch(time_ms, vec![cmd]), &mut events);
    events.retain(|e| !matches!(e, Event::Lock(_)));
    (out.remove(0), events)
}

fn open(m: &mut Machine, open_id: u128) -> SessionId {
    let cmd = Command::OpenSession {
        open_id,
        ttl_ms: 10_000,
        label: String::new(),
        principal: String::new(),
    };
    match apply1(m, 0, cmd).0 {
        Outcome::SessionOpened { session, .. } => session,
        other => panic!("unexpected {other:?}"),
    }
}

fn acquire(session: SessionId, request: RequestId, name: &str, wait_ms: Option<u64>) -> Command {
    Command::Acquire {
        session,
        request,
        name: name.into(),
        mode: Mode::Exclusive,
        wait_ms,
        lock_delay_ms: 0,
        owner: (session as u128) << 64 | request as u128,
        value: String::new(),
    }
}

#[test]
fn waiter_gets_lock_with_higher_token_when_holder_expires() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    let Outcome::Granted(first) = apply1(&mut m, 1, acquire(a, 1, "x", None)).0 else {
        panic!("not granted")
    };
    assert_eq!(
        apply1(&mut m, 2, acquire(b, 1, "x", Some(5_000))).0,
        Outcome::Queued
    );
    let (_, events) = apply1(&mut m, 3, Command::ExpireSession { session: a });
    let granted = events.iter().find_map(|e| match e {
        Event::Resolved {
            outcome: Outcome::Granted(g),
            ..
        } => Some(g.clone()),
        _ => None,
    });
    let second = granted.expect("waiter was not granted");
    assert_eq!(second.session, b);
    assert!(second.token > first.token);
    assert_eq!(m.recorded(b, 1), Some(&Outcome::Granted(second)));
}

#[test]
fn release_request_marks_the_holder_until_its_grant_ends() {
    let mut m = Machine::default();
    let (a, b) = (open(&mut m, 1), open(&mut m, 2));
    let Outcome::Granted(first) = apply1(&mut m, 1, acquire(a, 1, "x", None)).0 else {
        panic!("not granted")
    };
    assert_eq!(
        apply1(&mut m, 2, acquire(b, 1, "x", Some(5_000))).0,
        Outcome::Queued
    );
    let ask = |owner| Command::RequestRelease {
        name: "x".into(),
        owner,
        principal: "ops".into(),
        reason: "deploy".into(),
    };
    // Another grant's owner id asks nobody.
    let Outcome::ReleaseRequested { asked } = apply1(&mut m, 3, ask(Some(7))).0 else {
        panic!("not asked")
    };
    assert!(asked.is_empty() && m.release_requests(a).is_empty());
    let Outcome::ReleaseRequested { asked } = apply1(&mut m, 4, ask(None)).0 else {
        panic!("not asked")
    };
    assert_eq!(asked, vec![first.clone()]);
    assert_eq!(m.release_requests(a), vec![first.owner]);
    assert!(m.release_requests(b).is_empty());
    assert!(
        m.audit()
            .any(|r| r.action == "request-release" && r.principal == "ops")
    );
    // The holder releases: the waiter's new grant starts unasked.
    let release = Command::Release {
        session: a,
        request: 2,
        name: "x".into(),
        owner: first.owner,
    };
    apply1(&mut m, 5, release);
    assert!(m.release_requests(a).is_empty() && m.release_requests(b).is_empty());
    let holder = &m.lock("x").expect("held").holders[0];
    assert!(holder.session == b && !holder.release_requested);
    // Nobody holds "y": nobody is asked.
    let nobody = Command::RequestRelease {
        name: "y".into(),
        owner: None,
        principal: "ops".into(),
        reason: String::new(),
    };
    assert_eq!(
        apply1(&mut m, 6, nobody).0,
        Outcome::ReleaseRequested { asked: Vec::new() }
    );
}

#[test]
fn second_acquire_by_the_holding_session_is_already_held_and_changes_nothing() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    apply1(&mut m, 1, acquire(a, 1, "x", None));
    let before = (format!("{:?}", m.lock("x")), m.last_token());
    // Try and waiting acquires alike: a waiter would sit behind its own grant.
    for (request, wait_ms) in [(2, None), (3, Some(5_000))] {
        let (out, events) = apply1(&mut m, 2, acquire(a, request, "x", wait_ms));
        assert_eq!(out, Outcome::Rejected(Rejection::AlreadyHeld("x".into())));
        assert!(events.is_empty(), "{events:?}");
    }
    assert_eq!(before, (format!("{:?}", m.lock("x")), m.last_token()));
    // Another session still queues, and after a release the session may
    // acquire the lock again.
    let b = open(&mut m, 2);
    assert_eq!(
        apply1(&mut m, 3, acquire(b, 1, "x", Some(5_000))).0,
        Outcome::Queued
    );
    let Outcome::Granted(first) = apply1(&mut m, 1, acquire(a, 9, "y", None)).0 else {
        panic!("y not granted")
    };
    let release = Command::Release {
        session: a,
        request: 10,
        name: "y".into(),
        owner: first.owner,
    };
    assert_eq!(
        apply1(&mut m, 4, release).0,
        Outcome::Released { released: true }
    );
    let Outcome::Granted(again) = apply1(&mut m, 5, acquire(a, 11, "y", None)).0 else {
        panic!("y not granted again")
    };
    assert!(again.token > first.token);
}

fn permits(session: SessionId, request: RequestId, count: u32, limit: u32) -> Command {
    let mut cmd = acquire(session, request, "sem", Some(5_000));
    if let Command::Acquire { mode, .. } = &mut cmd {
        *mode = Mode::Permits { count, limit };
    }
    cmd
}

fn granted(out: Outcome) -> Grant {
    match out {
        Outcome::Granted(g) => g,
        other => panic!("not granted: {other:?}"),
    }
}

#[test]
fn semaphore_grants_within_its_limit_in_fifo_order_with_rising_tokens() {
    let mut m = Machine::default();
    let [a, b, c, d] = [1, 2, 3, 4].map(|id| open(&mut m, id));
    let two = granted(apply1(&mut m, 1, permits(a, 1, 2, 3)).0);
    let one = granted(apply1(&mut m, 1, permits(b, 1, 1, 3)).0);
    assert!(one.token > two.token);
    // Full: C waits for 2, and D's single permit queues behind it (no barging)
    // although one would not fit either.
    assert_eq!(apply1(&mut m, 2, permits(c, 1, 2, 3)).0, Outcome::Queued);
    assert_eq!(apply1(&mut m, 2, permits(d, 1, 1, 3)).0, Outcome::Queued);
    // A session may hold several grants of a semaphore (permits are counted).
    assert_eq!(apply1(&mut m, 2, permits(a, 2, 1, 3)).0, Outcome::Queued);
    // A's session expires: its 2 permits go to C, then nothing fits D.
    let (_, events) = apply1(&mut m, 3, Command::ExpireSession { session: a });
    let grants: Vec<Grant> = events
        .iter()
        .filter_map(|e| match e {
            Event::Resolved {
                outcome: Outcome::Granted(g),
                ..
            } => Some(g.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0].session, c);
    assert!(grants[0].token > one.token);
    let lock = m.lock("sem").expect("in use");
    assert_eq!(
        lock.holders.iter().map(|h| h.mode.permits()).sum::<u32>(),
        3
    );
    assert_eq!(lock.waiters.len(), 1);
}

#[test]
fn semaphore_of_another_size_or_a_lock_of_its_name_is_a_mismatch_and_changes_nothing() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    granted(apply1(&mut m, 1, permits(a, 1, 1, 3)).0);
    let before = (format!("{:?}", m.lock("sem")), m.last_token());
    let out = apply1(&mut m, 2, permits(b, 1, 1, 2)).0;
    assert!(
        matches!(&out, Outcome::Rejected(Rejection::Mismatch { is, .. }) if is == "a semaphore of 3 permits"),
        "{out:?}"
    );
    let out = apply1(&mut m, 2, acquire(b, 2, "sem", None)).0;
    assert!(
        matches!(&out, Outcome::Rejected(Rejection::Mismatch { asked, .. }) if asked == "a lock"),
        "{out:?}"
    );
    assert_eq!(before, (format!("{:?}", m.lock("sem")), m.last_token()));
    // Once idle, the name may be used with another size.
    let (_, _) = apply1(&mut m, 3, Command::CloseSession { session: a });
    granted(apply1(&mut m, 4, permits(b, 3, 2, 2)).0);
}

#[test]
fn permit_limit_check_reports_a_machine_that_overgrants() {
    // Negative control: with admits() broken for permits, the property
    // harness's invariant check must fire on a history that fills a semaphore.
    let message = caught(&OVERGRANT_PERMITS, "the overgrant went unnoticed", || {
        let mut h = Harness::new();
        for s in 0..3 {
            h.step(Op::Acquire {
                s,
                name: 0,
                kind: 3,
                wait: Some(100),
            });
        }
    });
    assert!(message.contains("permits held"), "{message}");
}

#[test]
fn watch_mirror_reports_a_machine_that_hides_an_expiry() {
    // Negative control: with the Expired change not recorded, a watcher would
    // still believe in the expired holder; the harness's mirror must say so.
    let message = caught(&SILENT_EXPIRY, "the hidden expiry went unnoticed", || {
        let mut h = Harness::new();
        h.step(Op::Acquire {
            s: 0,
            name: 0,
            kind: 0,
            wait: None,
        });
        h.step(Op::Expire { s: 0 });
    });
    assert!(
        message.contains("changes not all seen") || message.contains("believes"),
        "{message}"
    );
}

#[test]
fn acquire_all_check_reports_a_machine_that_grants_part() {
    // Negative control: with partial grants, the harness must notice that an
    // acquire-all of a held and a free lock did not get every name.
    let message = caught(
        &PARTIAL_ACQUIRE_ALL,
        "the partial grant went unnoticed",
        || {
            let mut h = Harness::new();
            h.step(Op::Acquire {
                s: 0,
                name: 0,
                kind: 0,
                wait: None,
            });
            h.step(Op::AcquireAll {
                s: 1,
                names: 0b011,
                shared: false,
                wait: None,
            });
        },
    );
    assert!(message.contains("not every name granted"), "{message}");
}

#[test]
fn acquire_all_grants_every_name_or_none() {
    let mut m = Machine::default();
    let (a, b) = (open(&mut m, 1), open(&mut m, 2));
    apply1(&mut m, 1, acquire(a, 1, "y", None));
    let all = |session, request, names: &[&str]| {
        let mut cmd = acquire_all(session, request, names, None);
        if let Command::AcquireAll { value, .. } = &mut cmd {
            *value = "both".into();
        }
        cmd
    };
    let before = format!("{:?}", m.locks());
    assert_eq!(
        apply1(&mut m, 2, all(b, 1, &["x", "y"])).0,
        Outcome::Rejected(Rejection::LockHeld("y".into()))
    );
    assert_eq!(
        before,
        format!("{:?}", m.locks()),
        "nothing held after a refusal"
    );
    let Outcome::GrantedAll(grants) = apply1(&mut m, 3, all(b, 2, &["x", "z"])).0 else {
        panic!("not granted")
    };
    assert_eq!(
        grants.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["x", "z"]
    );
    assert!(grants[1].token == grants[0].token + 1);
    assert_eq!(m.lock("z").expect("held").holders[0].value, "both");
    // A repeated name, or a name the session holds, grants nothing.
    assert!(matches!(
        apply1(&mut m, 4, all(a, 2, &["q", "q"])).0,
        Outcome::Rejected(_)
    ));
    assert_eq!(
        apply1(&mut m, 5, all(a, 3, &["q", "y"])).0,
        Outcome::Rejected(Rejection::AlreadyHeld("y".into()))
    );
    assert!(m.lock("q").is_none());
}

/// An exclusive acquire-all of `names` by `session`, waiting `wait_ms` if set.
fn acquire_all(
    session: SessionId,
    request: RequestId,
    names: &[&str],
    wait_ms: Option<u64>,
) -> Command {
    Command::AcquireAll {
        session,
        request,
        names: names.iter().map(|n| n.to_string()).collect(),
        mode: Mode::Exclusive,
        wait_ms,
        lock_delay_ms: 0,
        owners: (0..names.len() as u128)
            .map(|i| (session as u128) << 64 | (request as u128) << 8 | i)
            .collect(),
        value: String::new(),
    }
}

/// The grants an acquire-all of `session` got among `events`.
fn granted_all(events: &[Event], session: SessionId) -> Option<Vec<Grant>> {
    events.iter().find_map(|e| match e {
        Event::Resolved {
            session: s,
            outcome: Outcome::GrantedAll(grants),
            ..
        } if *s == session => Some(grants.clone()),
        _ => None,
    })
}

fn release(session: SessionId, request: RequestId, g: &Grant) -> Command {
    Command::Release {
        session,
        request,
        name: g.name.clone(),
        owner: g.owner,
    }
}

#[test]
fn waiting_acquire_alls_in_crossed_orders_are_granted_in_turn_without_deadlock() {
    let mut m = Machine::default();
    let (a, b, c) = (open(&mut m, 1), open(&mut m, 2), open(&mut m, 3));
    let held = granted(apply1(&mut m, 1, acquire(a, 1, "x", None)).0);
    // b waits for {x, y} and c for {y, x}: nobody holds y meanwhile.
    assert_eq!(
        apply1(&mut m, 2, acquire_all(b, 1, &["x", "y"], Some(5_000))).0,
        Outcome::Queued
    );
    assert_eq!(
        apply1(&mut m, 3, acquire_all(c, 1, &["y", "x"], Some(5_000))).0,
        Outcome::Queued
    );
    assert!(m.lock("y").is_some_and(|l| l.holders.is_empty()));
    // A single try of y does not overtake them (FIFO).
    assert_eq!(
        apply1(&mut m, 4, acquire(a, 2, "y", None)).0,
        Outcome::Rejected(Rejection::LockHeld("y".into()))
    );
    let (_, events) = apply1(&mut m, 5, release(a, 3, &held));
    let first = granted_all(&events, b).expect("b got both");
    assert!(granted_all(&events, c).is_none(), "c still waits");
    assert_eq!(
        first.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["x", "y"]
    );
    assert!(first.iter().all(|g| g.token > held.token));
    apply1(&mut m, 6, release(b, 2, &first[0]));
    let (_, events) = apply1(&mut m, 7, release(b, 3, &first[1]));
    let second = granted_all(&events, c).expect("c got both after b let go");
    assert_eq!(
        second.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["y", "x"]
    );
    assert!(second.iter().all(|g| g.token > first[1].token));
}

#[test]
fn a_waiting_acquire_all_that_times_out_leaves_every_queue_and_the_next_waiter_is_granted() {
    let mut m = Machine::default();
    let (a, b, c) = (open(&mut m, 1), open(&mut m, 2), open(&mut m, 3));
    apply1(&mut m, 1_000, acquire(a, 1, "x", None));
    apply1(&mut m, 1_000, acquire_all(b, 1, &["x", "y"], Some(500)));
    assert_eq!(
        apply1(&mut m, 1_001, acquire(c, 1, "y", Some(5_000))).0,
        Outcome::Queued,
        "c queues behind b's entry in y"
    );
    let (_, events) = apply1(&mut m, 1_500, Command::Tick);
    assert!(timed_out(&events, b));
    assert!(granted_to(&events, c), "y passes to c: {events:?}");
    assert_eq!(m.lock("x").map(|l| l.waiters.len()), Some(0));
    assert!(m.session(b).is_some_and(|s| s.waiting.is_empty()));
}

#[test]
fn cancelling_or_ending_the_session_of_a_waiting_acquire_all_frees_its_queues() {
    let mut m = Machine::default();
    let (a, b, c) = (open(&mut m, 1), open(&mut m, 2), open(&mut m, 3));
    apply1(&mut m, 1, acquire(a, 1, "x", None));
    apply1(&mut m, 2, acquire_all(b, 1, &["y", "x"], Some(5_000)));
    apply1(&mut m, 3, acquire(c, 1, "y", Some(5_000)));
    let cancel = Command::CancelAcquire {
        session: b,
        request: 1,
    };
    let (out, events) = apply1(&mut m, 4, cancel);
    assert_eq!(out, Outcome::Rejected(Rejection::Cancelled("y".into())));
    assert!(granted_to(&events, c));
    assert_eq!(m.lock("x").map(|l| l.waiters.len()), Some(0));
    // The same through the end of the session.
    apply1(&mut m, 5, acquire_all(b, 2, &["x", "z"], Some(5_000)));
    apply1(&mut m, 6, acquire(c, 2, "z", Some(5_000)));
    let (_, events) = apply1(&mut m, 7, Command::CloseSession { session: b });
    assert!(granted_to(&events, c));
    assert!(m.lock("x").is_some_and(|l| l.waiters.is_empty()));
}

#[test]
fn a_long_chain_of_shared_acquire_alls_is_granted_without_recursion() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let held = granted(apply1(&mut m, 1, acquire(a, 1, "n0", None)).0);
    // Session k waits, shared, for {n(k), n(k+1)}: each queues behind the last.
    const CHAIN: u128 = 5_000;
    for k in 0..CHAIN {
        let s = open(&mut m, 10 + k);
        let (first, second) = (format!("n{k}"), format!("n{}", k + 1));
        let mut cmd = acquire_all(s, 1, &[&first, &second], Some(60_000));
        if let Command::AcquireAll { mode, .. } = &mut cmd {
            *mode = Mode::Shared;
        }
        assert_eq!(apply1(&mut m, 2, cmd).0, Outcome::Queued);
    }
    let (_, events) = apply1(&mut m, 3, release(a, 2, &held));
    let grants = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Resolved {
                    outcome: Outcome::GrantedAll(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(grants as u128, CHAIN);
}

#[test]
fn try_acquire_of_held_lock_is_rejected_and_changes_nothing() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    apply1(&mut m, 1, acquire(a, 1, "x", None));
    let before = format!("{:?}", m.lock("x"));
    let (out, _) = apply1(&mut m, 2, acquire(b, 1, "x", None));
    assert_eq!(out, Outcome::Rejected(Rejection::LockHeld("x".into())));
    assert_eq!(before, format!("{:?}", m.lock("x")));
}

#[test]
fn waiter_times_out_at_its_deadline() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    apply1(&mut m, 1_000, acquire(a, 1, "x", None));
    apply1(&mut m, 1_000, acquire(b, 1, "x", Some(500)));
    assert_eq!(m.next_timer_ms(), Some(1_500));
    let (_, events) = apply1(&mut m, 1_499, Command::Tick);
    assert!(events.is_empty());
    let (_, events) = apply1(&mut m, 1_500, Command::Tick);
    assert_eq!(
        events,
        vec![Event::Resolved {
            session: b,
            request: 1,
            outcome: Outcome::Rejected(Rejection::TimedOut("x".into()))
        }]
    );
    assert!(m.lock("x").is_some_and(|l| l.waiters.is_empty()));
}

#[test]
fn lock_delay_applies_after_expiry_only() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    let mut cmd = acquire(a, 1, "x", None);
    if let Command::Acquire { lock_delay_ms, .. } = &mut cmd {
        *lock_delay_ms = 1_000;
    }
    apply1(&mut m, 0, cmd);
    apply1(&mut m, 10, Command::ExpireSession { session: a });
    let (out, _) = apply1(&mut m, 20, acquire(b, 1, "x", None));
    assert_eq!(out, Outcome::Rejected(Rejection::LockHeld("x".into())));
    assert_eq!(
        apply1(&mut m, 30, acquire(b, 2, "x", Some(5_000))).0,
        Outcome::Queued
    );
    let (_, events) = apply1(&mut m, 1_010, Command::Tick);
    assert!(matches!(
        events.as_slice(),
        [Event::Resolved {
            outcome: Outcome::Granted(_),
            ..
        }]
    ));
}

#[test]
fn force_release_is_compare_and_swap_and_audited() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let Outcome::Granted(g) = apply1(&mut m, 0, acquire(a, 1, "x", None)).0 else {
        panic!()
    };
    let wrong = Command::ForceRelease {
        name: "x".into(),
        owner: g.owner + 1,
        principal: "ops".into(),
        reason: "test".into(),
        retry_id: 0,
    };
    assert!(matches!(
        apply1(&mut m, 1, wrong).0,
        Outcome::Rejected(Rejection::NotHolder { .. })
    ));
    let right = Command::ForceRelease {
        name: "x".into(),
        owner: g.owner,
        principal: "ops".into(),
        reason: "test".into(),
        retry_id: 0,
    };
    assert_eq!(
        apply1(&mut m, 2, right).0,
        Outcome::ForceReleased { granted: vec![] }
    );
    assert!(m.lock("x").is_none());
    assert_eq!(m.audit().count(), 1);
    assert_eq!(
        m.session(a).map(|s| s.revoked().collect::<Vec<_>>()),
        Some(vec![g.owner])
    );
}

#[test]
fn retried_force_release_gets_the_first_answer_and_changes_nothing() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    let Outcome::Granted(g) = apply1(&mut m, 0, acquire(a, 1, "x", None)).0 else {
        panic!()
    };
    apply1(&mut m, 0, acquire(b, 1, "x", Some(10_000)));
    let force = Command::ForceRelease {
        name: "x".into(),
        owner: g.owner,
        principal: "ops".into(),
        reason: "test".into(),
        retry_id: 7,
    };
    let Outcome::ForceReleased { granted } = apply1(&mut m, 1, force.clone()).0 else {
        panic!("force-release refused")
    };
    assert_eq!(granted.len(), 1);
    assert!(granted[0].token > g.token);
    let before = postcard::to_stdvec(&m).expect("serializes");
    assert_eq!(
        apply1(&mut m, 1, force).0,
        Outcome::ForceReleased { granted }
    );
    let after = postcard::to_stdvec(&m).expect("serializes");
    assert_eq!(before, after, "the retry changed the state");
    assert_eq!(m.audit().count(), 1);
    // A new call (another retry id) is a failed compare-and-swap.
    let again = Command::ForceRelease {
        name: "x".into(),
        owner: g.owner,
        principal: "ops".into(),
        reason: "again".into(),
        retry_id: 8,
    };
    assert!(matches!(
        apply1(&mut m, 1, again).0,
        Outcome::Rejected(Rejection::NotHolder { .. })
    ));
}

#[test]
fn blacklist_cancels_waits_and_keeps_held_locks() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    apply1(&mut m, 0, acquire(a, 1, "x", None));
    apply1(&mut m, 0, acquire(b, 1, "y", None));
    apply1(&mut m, 0, acquire(a, 2, "y", Some(1_000)));
    let bl = Command::Blacklist {
        session: a,
        principal: "ops".into(),
        reason: "zombie".into(),
    };
    let (out, events) = apply1(&mut m, 1, bl);
    assert_eq!(out, Outcome::Blacklisted);
    assert_eq!(events.len(), 1);
    assert_eq!(m.lock("x").map(|l| l.holders.len()), Some(1));
    assert!(matches!(
        apply1(&mut m, 2, acquire(a, 3, "z", None)).0,
        Outcome::Rejected(Rejection::SessionBlacklisted(_))
    ));
}

#[test]
fn cancel_before_acquire_arrives_leaves_a_tombstone() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let cancel = Command::CancelAcquire {
        session: a,
        request: 7,
    };
    assert!(matches!(
        apply1(&mut m, 0, cancel).0,
        Outcome::Rejected(Rejection::Cancelled(_))
    ));
    assert!(matches!(
        apply1(&mut m, 1, acquire(a, 7, "x", Some(1_000))).0,
        Outcome::Rejected(Rejection::Cancelled(_))
    ));
    assert!(m.lock("x").is_none());
}

#[test]
fn shared_holders_coexist_and_exclusive_waiter_blocks_later_shared() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    let c = open(&mut m, 3);
    let shared = |s, r| Command::Acquire {
        session: s,
        request: r,
        name: "x".into(),
        mode: Mode::Shared,
        wait_ms: Some(10_000),
        lock_delay_ms: 0,
        owner: (s as u128) << 64 | r as u128,
        value: String::new(),
    };
    assert!(matches!(
        apply1(&mut m, 0, shared(a, 1)).0,
        Outcome::Granted(_)
    ));
    assert!(matches!(
        apply1(&mut m, 0, shared(b, 1)).0,
        Outcome::Granted(_)
    ));
    assert_eq!(
        apply1(&mut m, 0, acquire(c, 1, "x", Some(10_000))).0,
        Outcome::Queued
    );
    // No barging: a later shared request queues behind the exclusive waiter.
    let d = open(&mut m, 4);
    assert_eq!(apply1(&mut m, 0, shared(d, 1)).0, Outcome::Queued);
}

#[test]
fn snapshot_roundtrip_keeps_timers() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    apply1(&mut m, 0, acquire(a, 1, "x", None));
    apply1(&mut m, 0, acquire(b, 1, "x", Some(700)));
    let bytes = postcard::to_stdvec(&m).expect("serialize");
    let mut restored: Machine = postcard::from_bytes(&bytes).expect("deserialize");
    restored.rebuild_indexes();
    assert_eq!(restored.next_timer_ms(), Some(700));
    assert_eq!(
        format!("{:?}", restored.locks()),
        format!("{:?}", m.locks())
    );
}

// ---- the machine clock ----

const DAY_MS: u64 = 86_400_000;
/// A realistic Unix time, so that the fresh-machine rule has been used up.
const T0: u64 = 1_700_000_000_000;

fn timed_out(events: &[Event], session: SessionId) -> bool {
    events.iter().any(|e| {
        matches!(e, Event::Resolved {
            session: s,
            outcome: Outcome::Rejected(Rejection::TimedOut(_)),
            ..
        } if *s == session)
    })
}

fn granted_to(events: &[Event], session: SessionId) -> bool {
    events.iter().any(|e| {
        matches!(e, Event::Resolved {
            session: s,
            outcome: Outcome::Granted(_),
            ..
        } if *s == session)
    })
}

/// Applies a Tick stamped each second after `from` until `done` says so;
/// returns the number of seconds it took (None: not within `max_s`).
fn seconds_until(
    m: &mut Machine,
    from: u64,
    max_s: u64,
    done: impl Fn(&[Event]) -> bool,
) -> Option<u64> {
    (1..=max_s).find(|s| done(&apply1(m, from + s * 1_000, Command::Tick).1))
}

#[test]
fn a_stamp_a_day_ahead_does_not_freeze_waiter_timeouts() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    apply1(&mut m, T0, acquire(a, 1, "x", None));
    // One batch from a leader whose wall clock jumped a day ahead.
    apply1(&mut m, T0 + DAY_MS, Command::Tick);
    // Normal stamps again: a wait of 3 s must time out after 3 s of them.
    let queued = apply1(&mut m, T0 + 1_000, acquire(b, 1, "x", Some(3_000))).0;
    assert_eq!(queued, Outcome::Queued);
    let took = seconds_until(&mut m, T0 + 1_000, 10, |ev| timed_out(ev, b));
    assert_eq!(took, Some(3), "the wait did not time out on time");
}

#[test]
fn a_stamp_a_day_ahead_does_not_freeze_lock_delays() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    let hold = Command::Acquire {
        session: a,
        request: 1,
        name: "x".into(),
        mode: Mode::Exclusive,
        wait_ms: None,
        lock_delay_ms: 2_000,
        owner: 1,
        value: String::new(),
    };
    apply1(&mut m, T0, hold);
    apply1(&mut m, T0 + DAY_MS, Command::Tick);
    // The holder expires under normal stamps; b, waiting, gets the lock once
    // the 2 s lock-delay has passed.
    apply1(&mut m, T0 + 1_000, acquire(b, 1, "x", Some(60_000)));
    apply1(&mut m, T0 + 1_000, Command::ExpireSession { session: a });
    let took = seconds_until(&mut m, T0 + 1_000, 10, |ev| granted_to(ev, b));
    assert_eq!(took, Some(2), "the lock-delay did not end on time");
}

#[test]
fn a_stamp_a_day_ahead_moves_pending_timers_by_one_bounded_step_only() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    apply1(&mut m, T0, acquire(a, 1, "x", None));
    apply1(&mut m, T0, acquire(b, 1, "x", Some(30_000)));
    let (_, events) = apply1(&mut m, T0 + DAY_MS, Command::Tick);
    assert!(!timed_out(&events, b), "a 30 s wait timed out at once");
    assert_eq!(m.time_ms(), T0 + MAX_TIMED_STEP_MS);
    // It times out after the rest of its 30 s under normal stamps.
    let rest = (30_000 - MAX_TIMED_STEP_MS) / 1_000;
    let took = seconds_until(&mut m, T0, 40, |ev| timed_out(ev, b));
    assert_eq!(
        took,
        Some(rest + 1),
        "one stamp at the old reference is lost"
    );
}

#[test]
fn the_clock_follows_stamps_forward_and_never_goes_back() {
    let mut m = Machine::default();
    apply1(&mut m, T0, Command::Tick);
    assert_eq!(m.time_ms(), T0, "a fresh machine takes the first stamp");
    apply1(&mut m, T0 + 5_000, Command::Tick);
    assert_eq!(m.time_ms(), T0 + 5_000);
    // A leader whose clock is an hour behind: no step back, then its own pace.
    apply1(&mut m, T0 - 3_600_000, Command::Tick);
    assert_eq!(m.time_ms(), T0 + 5_000);
    apply1(&mut m, T0 - 3_600_000 + 1_000, Command::Tick);
    assert_eq!(m.time_ms(), T0 + 6_000);
    // Idle with no timer pending: a long real gap is followed in full.
    apply1(&mut m, T0 - 3_600_000 + 1_000 + DAY_MS, Command::Tick);
    assert_eq!(m.time_ms(), T0 + 6_000 + DAY_MS);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the stamps say (u64::MAX included), the clock never goes back,
    /// never panics, and one batch moves it by at most the bound.
    #[test]
    fn any_stamps_keep_the_clock_monotonic_and_bounded(
        stamps in prop::collection::vec(prop_oneof![any::<u64>(), 0u64..100_000, Just(u64::MAX)], 1..60),
        waiting in any::<bool>(),
    ) {
        let mut m = Machine::default();
        let a = open(&mut m, 1);
        let b = open(&mut m, 2);
        if waiting {
            apply1(&mut m, 0, acquire(a, 1, "x", None));
            apply1(&mut m, 0, acquire(b, 1, "x", Some(3_600_000)));
        }
        for stamp in stamps {
            let before = m.time_ms();
            let pending = m.next_timer_ms().is_some();
            apply1(&mut m, stamp, Command::Tick);
            prop_assert!(m.time_ms() >= before);
            if before != 0 {
                let bound = if pending { MAX_TIMED_STEP_MS } else { MAX_IDLE_STEP_MS };
                prop_assert!(m.time_ms() - before <= bound);
            }
        }
    }
}

// ---- request ids and other client-supplied numbers ----

#[test]
fn request_id_u64_max_is_rejected_without_panic() {
    let mut m = Machine::default();
    let a = open(&mut m, 1);
    let b = open(&mut m, 2);
    apply1(&mut m, 0, acquire(a, 1, "x", None));
    // A full dedup window of queued acquires, so that the next final outcome is
    // the oldest one to evict (the old code's `oldest + 1` overflowed here).
    for r in 1..=DEDUP_WINDOW as u64 {
        let queued = apply1(&mut m, 0, acquire(b, r, "x", Some(60_000))).0;
        assert_eq!(queued, Outcome::Queued);
    }
    let invalid = Outcome::Rejected(Rejection::InvalidRequest(u64::MAX));
    assert_eq!(
        apply1(&mut m, 0, acquire(b, u64::MAX, "y", None)).0,
        invalid
    );
    assert_eq!(
        apply1(&mut m, 0, acquire(b, u64::MAX, "y", None)).0,
        invalid
    );
    let cancel = Command::CancelAcquire {
        session: b,
        request: u64::MAX,
    };
    assert_eq!(apply1(&mut m, 0, cancel).0, invalid);
    assert!(m.lock("y").is_none(), "a rejected request created a lock");
    // The largest valid id works, and the session goes on as before.
    let top = apply1(&mut m, 0, acquire(b, MAX_REQUEST_ID, "y", None)).0;
    assert!(matches!(top, Outcome::Granted(_)), "{top:?}");
    let release = Command::Release {
        session: a,
        request: 2,
        name: "x".into(),
        owner: (a as u128) << 64 | 1,
    };
    let (released, events) = apply1(&mut m, 0, release);
    assert_eq!(released, Outcome::Released { released: true });
    assert!(granted_to(&events, b), "the first waiter did not get x");
}

#[test]
fn a_huge_ttl_in_a_log_entry_is_clamped() {
    let mut m = Machine::default();
    let cmd = Command::OpenSession {
        open_id: 9,
        ttl_ms: u64::MAX,
        label: String::new(),
        principal: String::new(),
    };
    let (out, events) = apply1(&mut m, 0, cmd);
    let Outcome::SessionOpened { session, ttl_ms } = out else {
        panic!("unexpected {out:?}")
    };
    assert_eq!(ttl_ms, MAX_SESSION_TTL_MS);
    assert_eq!(
        events,
        vec![Event::SessionOpened {
            session,
            ttl_ms: MAX_SESSION_TTL_MS
        }]
    );
}

// ---- property tests ----

#[derive(Debug, Clone)]
enum Op {
    Acquire {
        s: usize,
        name: u8,
        /// `acquire_mode`: exclusive, shared, or permits of a semaphore.
        kind: u8,
        wait: Option<u64>,
    },
    Cancel {
        s: usize,
        back: u64,
    },
    Release {
        s: usize,
    },
    Expire {
        s: usize,
    },
    Close {
        s: usize,
    },
    ForceRelease {
        name: u8,
    },
    Blacklist {
        s: usize,
    },
    Tick {
        dt: u64,
    },
    Retry {
        back: usize,
    },
    RequestRelease {
        name: u8,
        /// Ask only the first holder's grant, not every holder.
        one: bool,
    },
    SetValue {
        s: usize,
    },
    AcquireAll {
        s: usize,
        /// Bit i: lock `li` is among the names.
        names: u8,
        shared: bool,
        wait: Option<u64>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0usize..4;
    prop_oneof![
        4 => (s.clone(), 0u8..3, 0u8..6, prop::option::of(1u64..400))
            .prop_map(|(s, name, kind, wait)| Op::Acquire { s, name, kind, wait }),
        1 => (s.clone(), 0u64..4).prop_map(|(s, back)| Op::Cancel { s, back }),
        3 => s.clone().prop_map(|s| Op::Release { s }),
        1 => s.clone().prop_map(|s| Op::Expire { s }),
        1 => s.clone().prop_map(|s| Op::Close { s }),
        1 => (0u8..6).prop_map(|name| Op::ForceRelease { name }),
        1 => s.clone().prop_map(|s| Op::Blacklist { s }),
        2 => (0u64..300).prop_map(|dt| Op::Tick { dt }),
        2 => (0usize..6).prop_map(|back| Op::Retry { back }),
        1 => (0u8..6, any::<bool>()).prop_map(|(name, one)| Op::RequestRelease { name, one }),
        1 => s.clone().prop_map(|s| Op::SetValue { s }),
        2 => (s.clone(), 1u8..8, any::<bool>(), prop::option::of(1u64..400))
            .prop_map(|(s, names, shared, wait)| Op::AcquireAll { s, names, shared, wait }),
    ]
}

/// The lock name and mode of a random acquire: locks `l0`..`l2` exclusive or
/// shared, semaphores `s0`..`s2` of 3 permits taking 1 to 3, and now and then
/// one asked for as a semaphore of 2 (refused while it is in use as one of 3).
fn acquire_mode(name: u8, kind: u8) -> (String, Mode) {
    match kind {
        0 => (format!("l{name}"), Mode::Exclusive),
        1 => (format!("l{name}"), Mode::Shared),
        2..=4 => (
            format!("s{name}"),
            Mode::Permits {
                count: u32::from(kind) - 1,
                limit: 3,
            },
        ),
        _ => (format!("s{name}"), Mode::Permits { count: 1, limit: 2 }),
    }
}

/// Lock `l0`..`l2` for 0..=2, semaphore `s0`..`s2` for 3..=5.
fn lock_or_semaphore(name: u8) -> String {
    if name < 3 {
        format!("l{name}")
    } else {
        format!("s{}", name - 3)
    }
}

/// Drives a machine with random operations and checks invariants after each.
struct Harness {
    m: Machine,
    time: u64,
    slots: Vec<Option<SessionId>>,
    next_open: u128,
    next_request: u64,
    history: Vec<Command>,
    last_token: u64,
    tokens: BTreeSet<u64>,
    /// Per lock: order in which acquires were queued, and order of grants.
    queued: BTreeMap<String, Vec<(SessionId, RequestId)>>,
    /// What a watcher that saw every change believes.
    mirror: WatchMirror,
}

/// A grant as a watcher believes it: session, token, value, release requested.
type Believed = (SessionId, u64, String, bool);

/// Holders and waiters per lock, rebuilt from the machine's change events
/// alone: after every command it must equal the machine's own state, so a
/// watcher misses nothing (a leader going away included).
#[derive(Default)]
struct WatchMirror {
    revision: u64,
    /// lock -> owner -> what a watcher believes of the grant
    holders: BTreeMap<String, BTreeMap<OwnerId, Believed>>,
    /// lock -> (session, request)
    waiters: BTreeMap<String, BTreeSet<(SessionId, RequestId)>>,
}

impl WatchMirror {
    fn apply(&mut self, e: &LockEvent) {
        assert_eq!(
            e.revision,
            self.revision + 1,
            "revisions skip or repeat: {e:?}"
        );
        self.revision = e.revision;
        let holders = self.holders.entry(e.name.clone()).or_default();
        let waiters = self.waiters.entry(e.name.clone()).or_default();
        match e.change {
            Change::Granted => {
                waiters.remove(&(e.session, e.request));
                holders.insert(e.owner, (e.session, e.token, e.value.clone(), false));
            }
            Change::Released | Change::Expired | Change::ForceReleased => {
                holders.remove(&e.owner);
            }
            Change::WaiterAdded => {
                waiters.insert((e.session, e.request));
            }
            Change::WaiterRemoved => {
                waiters.remove(&(e.session, e.request));
            }
            Change::ValueChanged => {
                if let Some(h) = holders.get_mut(&e.owner) {
                    h.2 = e.value.clone();
                }
            }
            Change::ReleaseRequested => {
                if let Some(h) = holders.get_mut(&e.owner) {
                    h.3 = true;
                }
            }
        }
    }

    fn check(&self, m: &Machine) {
        assert_eq!(self.revision, m.revision(), "changes not all seen");
        let held = |name: &String| self.holders.get(name).cloned().unwrap_or_default();
        for (name, lock) in m.locks() {
            let actual: BTreeMap<OwnerId, Believed> = lock
                .holders
                .iter()
                .map(|h| {
                    (
                        h.owner,
                        (h.session, h.token, h.value.clone(), h.release_requested),
                    )
                })
                .collect();
            assert_eq!(
                held(name),
                actual,
                "a watcher of {name} believes other holders"
            );
            let waiting: BTreeSet<(SessionId, RequestId)> = lock
                .waiters
                .iter()
                .map(|w| (w.session, w.request))
                .collect();
            assert_eq!(
                self.waiters.get(name).cloned().unwrap_or_default(),
                waiting,
                "a watcher of {name} believes other waiters"
            );
        }
        for (name, holders) in &self.holders {
            assert!(
                holders.is_empty() || m.lock(name).is_some(),
                "a watcher believes {name} is held after it went idle"
            );
        }
    }
}

impl Harness {
    fn new() -> Self {
        Harness {
            m: Machine::default(),
            time: 0,
            slots: vec![None; 4],
            next_open: 0,
            next_request: 0,
            history: Vec::new(),
            last_token: 0,
            tokens: BTreeSet::new(),
            queued: BTreeMap::new(),
            mirror: WatchMirror::default(),
        }
    }

    fn session(&mut self, slot: usize) -> SessionId {
        if let Some(id) = self.slots[slot]
            && self.m.session(id).is_some()
        {
            return id;
        }
        self.next_open += 1;
        let cmd = Command::OpenSession {
            open_id: self.next_open,
            ttl_ms: 1_000,
            label: String::new(),
            principal: String::new(),
        };
        let Outcome::SessionOpened { session, .. } = self.run(cmd) else {
            panic!("open failed")
        };
        self.slots[slot] = Some(session);
        session
    }

    fn run(&mut self, cmd: Command) -> Outcome {
        let mut events = Vec::new();
        let out = self
            .m
            .apply(&batch(self.time, vec![cmd.clone()]), &mut events);
        self.history.push(cmd.clone());
        for e in &events {
            if let Event::Lock(change) = e {
                self.mirror.apply(change);
            }
        }
        self.mirror.check(&self.m);
        // A waiting acquire-all's grants, when it gets them (no FIFO check of
        // single waiters for these: check_invariants checks its queues).
        let group_grants: Vec<Grant> = events
            .iter()
            .filter_map(|e| match e {
                Event::Resolved {
                    outcome: Outcome::GrantedAll(all),
                    ..
                } => Some(all.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        let mut grants: Vec<Grant> = events
            .iter()
            .filter_map(|e| match e {
                Event::Resolved {
                    session,
                    request,
                    outcome: Outcome::Granted(g),
                } => Some((session, request, g)),
                _ => None,
            })
            .map(|(s, r, g)| {
                // FIFO: a waiter is granted only when no still-queued waiter was ahead.
                let order = self.queued.entry(g.name.clone()).or_default();
                let pos = order
                    .iter()
                    .position(|k| *k == (*s, *r))
                    .expect("granted waiter was queued");
                for earlier in &order[..pos] {
                    assert!(
                        !self.m.lock(&g.name).is_some_and(|l| l
                            .waiters
                            .iter()
                            .any(|w| (w.session, w.request) == *earlier)),
                        "waiter {earlier:?} was skipped by a later one"
                    );
                }
                order.remove(pos);
                g.clone()
            })
            .collect();
        grants.extend(group_grants);
        for o in &out {
            match o {
                Outcome::Granted(g) => grants.push(g.clone()),
                Outcome::GrantedAll(all) => grants.extend(all.iter().cloned()),
                _ => {}
            }
        }
        // One command's grants in token order (a grant to an acquire-all
        // promotes its other names, whose waiters get later tokens).
        grants.sort_by_key(|g| g.token);
        if let (
            Command::Acquire {
                session,
                request,
                name,
                ..
            },
            Some(Outcome::Queued),
        ) = (&cmd, out.first())
            && !self
                .queued
                .get(name)
                .is_some_and(|q| q.contains(&(*session, *request)))
        {
            self.queued
                .entry(name.clone())
                .or_default()
                .push((*session, *request));
        }
        // G2: every fresh grant's token is above every earlier token. A retried
        // acquire or cancel returns its recorded grant again, with its old token.
        for g in grants {
            if self.tokens.contains(&g.token) {
                assert!(
                    matches!(cmd, Command::Acquire { .. } | Command::CancelAcquire { .. }),
                    "token {} granted twice",
                    g.token
                );
                continue;
            }
            assert!(
                g.token > self.last_token,
                "token {} not above {}",
                g.token,
                self.last_token
            );
            self.last_token = g.token;
            self.tokens.insert(g.token);
        }
        self.check_invariants();
        out.into_iter().next().expect("one outcome")
    }

    fn check_invariants(&self) {
        let mut seen_tokens = BTreeSet::new();
        for (name, lock) in self.m.locks() {
            // G1: at most one exclusive holder, and never beside another holder.
            let exclusive = lock
                .holders
                .iter()
                .filter(|h| h.mode == Mode::Exclusive)
                .count();
            assert!(
                exclusive == 0 || lock.holders.len() == 1,
                "lock {name} has {} holders with {exclusive} exclusive",
                lock.holders.len()
            );
            for h in &lock.holders {
                assert!(
                    seen_tokens.insert(h.token),
                    "token {} granted twice",
                    h.token
                );
                assert!(h.token <= self.m.last_token());
                let s = self.m.session(h.session).expect("holder's session exists");
                assert!(s.held.contains(&(name.clone(), h.owner)));
            }
            for w in &lock.waiters {
                let s = self.m.session(w.session).expect("waiter's session exists");
                // An acquire-all is recorded under its first name, and has
                // an entry in every one of its queues.
                let recorded = w.group.first().map_or(name, |(first, _)| first);
                assert_eq!(s.waiting.get(&w.request), Some(recorded));
                for (other, _) in &w.group {
                    assert!(
                        self.m
                            .lock(other)
                            .is_some_and(|l| l
                                .waiters
                                .iter()
                                .any(|x| (x.session, x.request) == (w.session, w.request))),
                        "acquire-all {:?} lost its entry in {other}",
                        (w.session, w.request)
                    );
                }
            }
            // Semaphores: every holder and waiter of a name asks for the same
            // kind, and the permits held never exceed the limit.
            let limits: BTreeSet<Option<u32>> = lock
                .holders
                .iter()
                .map(|h| h.mode.permit_limit())
                .chain(lock.waiters.iter().map(|w| w.mode.permit_limit()))
                .collect();
            assert!(limits.len() <= 1, "lock {name} mixes kinds: {limits:?}");
            if let Some(Some(limit)) = limits.first() {
                let held: u32 = lock.holders.iter().map(|h| h.mode.permits()).sum();
                assert!(
                    held <= *limit,
                    "semaphore {name} has {held} of {limit} permits held"
                );
            }
            // A free head waiter must have been granted (an acquire-all
            // when it heads every one of its queues, each admitting it).
            if let Some(head) = lock.waiters.front()
                && lock.delayed_until_ms <= self.m.time_ms()
            {
                let grantable = head.group.iter().all(|(other, _)| {
                    self.m.lock(other).is_some_and(|l| {
                        l.delayed_until_ms <= self.m.time_ms()
                            && l.admits(head.mode)
                            && l.waiters.front().is_some_and(|f| {
                                (f.session, f.request) == (head.session, head.request)
                            })
                    })
                });
                assert!(
                    !(lock.admits(head.mode) && grantable),
                    "lock {name} has a grantable head waiter"
                );
            }
        }
    }

    /// A release request reaches exactly the holders asked, frees nothing,
    /// grants nothing, and each holder's session reports it.
    fn request_release(&mut self, name: &str, one: bool) {
        let holders = |m: &Machine| -> Vec<(SessionId, OwnerId, u64)> {
            m.lock(name).map_or(Vec::new(), |l| {
                l.holders
                    .iter()
                    .map(|h| (h.session, h.owner, h.token))
                    .collect()
            })
        };
        let before = (holders(&self.m), self.m.last_token());
        let owner = one.then(|| before.0.first().map(|h| h.1)).flatten();
        let out = self.run(Command::RequestRelease {
            name: name.to_owned(),
            owner,
            principal: "p".into(),
            reason: String::new(),
        });
        assert_eq!(
            (holders(&self.m), self.m.last_token()),
            before,
            "a release request changed the grants"
        );
        let Outcome::ReleaseRequested { asked } = out else {
            panic!("unexpected outcome {out:?}")
        };
        let expected: Vec<OwnerId> = before
            .0
            .iter()
            .map(|h| h.1)
            .filter(|o| owner.is_none_or(|x| x == *o))
            .collect();
        let asked_owners: Vec<OwnerId> = asked.iter().map(|g| g.owner).collect();
        assert_eq!(asked_owners, expected, "asked other grants than named");
        for (session, owner, _) in &before.0 {
            if expected.contains(owner) {
                assert!(
                    self.m.release_requests(*session).contains(owner),
                    "session {session} does not report the request"
                );
            }
        }
    }

    /// All or nothing: either every name is granted to the session, or no
    /// lock changed at all.
    fn acquire_all(&mut self, s: usize, names: u8, shared: bool, wait: Option<u64>) {
        let session = self.session(s);
        self.next_request += 1;
        let request = self.next_request;
        let names: Vec<String> = (0..3)
            .filter(|i| names & (1 << i) != 0)
            .map(|i| format!("l{i}"))
            .collect();
        let owners: Vec<OwnerId> = (0..names.len())
            .map(|i| (request as u128) << 8 | i as u128)
            .collect();
        let before = format!("{:?}", (self.m.locks(), self.m.last_token()));
        let out = self.run(Command::AcquireAll {
            session,
            request,
            names: names.clone(),
            mode: if shared {
                Mode::Shared
            } else {
                Mode::Exclusive
            },
            wait_ms: wait,
            lock_delay_ms: 0,
            owners,
            value: String::new(),
        });
        match out {
            // Waiting in every queue: checked by check_invariants.
            Outcome::Queued => {}
            Outcome::GrantedAll(grants) => {
                let granted: Vec<&str> = grants.iter().map(|g| g.name.as_str()).collect();
                assert_eq!(granted, names, "not every name granted");
                for w in grants.windows(2) {
                    assert!(w[1].token > w[0].token, "tokens not in name order");
                }
            }
            Outcome::Rejected(_) => assert_eq!(
                before,
                format!("{:?}", (self.m.locks(), self.m.last_token())),
                "a refused acquire-all changed state (partial holding)"
            ),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Acquire {
                s,
                name,
                kind,
                wait,
            } => {
                let session = self.session(s);
                self.next_request += 1;
                let request = self.next_request;
                let (name, mode) = acquire_mode(name, kind);
                let cmd = Command::Acquire {
                    session,
                    request,
                    name,
                    mode,
                    wait_ms: wait,
                    lock_delay_ms: if request.is_multiple_of(3) { 50 } else { 0 },
                    owner: self.next_request as u128 * 7919,
                    value: String::new(),
                };
                self.run(cmd);
            }
            Op::Cancel { s, back } => {
                let session = self.session(s);
                let request = self.next_request.saturating_sub(back);
                self.run(Command::CancelAcquire { session, request });
            }
            Op::Release { s } => {
                let session = self.session(s);
                let held: Option<(String, OwnerId)> = self
                    .m
                    .session(session)
                    .and_then(|x| x.held.iter().next().cloned());
                if let Some((name, owner)) = held {
                    self.next_request += 1;
                    let request = self.next_request;
                    let out = self.run(Command::Release {
                        session,
                        request,
                        name,
                        owner,
                    });
                    assert_eq!(out, Outcome::Released { released: true });
                }
            }
            Op::Expire { s } => {
                if let Some(session) = self.slots[s] {
                    self.run(Command::ExpireSession { session });
                }
            }
            Op::Close { s } => {
                if let Some(session) = self.slots[s] {
                    self.run(Command::CloseSession { session });
                }
            }
            Op::ForceRelease { name } => {
                let name = lock_or_semaphore(name);
                let owner = self
                    .m
                    .lock(&name)
                    .and_then(|l| l.holders.first())
                    .map(|h| h.owner);
                if let Some(owner) = owner {
                    let out = self.run(Command::ForceRelease {
                        name,
                        owner,
                        principal: "p".into(),
                        reason: String::new(),
                        retry_id: 0,
                    });
                    assert!(matches!(out, Outcome::ForceReleased { .. }));
                }
            }
            Op::Blacklist { s } => {
                if let Some(session) = self.slots[s] {
                    self.run(Command::Blacklist {
                        session,
                        principal: "p".into(),
                        reason: String::new(),
                    });
                }
            }
            Op::Tick { dt } => {
                self.time += dt;
                self.run(Command::Tick);
            }
            Op::RequestRelease { name, one } => self.request_release(&lock_or_semaphore(name), one),
            Op::AcquireAll {
                s,
                names,
                shared,
                wait,
            } => self.acquire_all(s, names, shared, wait),
            Op::SetValue { s } => {
                let session = self.session(s);
                let held = self
                    .m
                    .session(session)
                    .and_then(|x| x.held.iter().next().cloned());
                if let Some((name, owner)) = held {
                    self.next_request += 1;
                    let value = format!("v{}", self.next_request);
                    let cmd = Command::SetValue {
                        session,
                        request: self.next_request,
                        name: name.clone(),
                        owner,
                        value: value.clone(),
                    };
                    assert_eq!(self.run(cmd), Outcome::ValueSet);
                    let holder = self.m.find_holder(&name, owner).expect("still held");
                    assert_eq!(holder.value, value);
                }
            }
            Op::Retry { back } => {
                // G5: re-applying an earlier request with the same id returns the
                // recorded outcome and changes nothing.
                let Some(cmd) = self.history.iter().rev().nth(back).cloned() else {
                    return;
                };
                let (Command::Acquire {
                    session, request, ..
                }
                | Command::Release {
                    session, request, ..
                }) = &cmd
                else {
                    return;
                };
                let Some(recorded) = self.m.recorded(*session, *request).cloned() else {
                    return;
                };
                let before = format!("{:?}", (self.m.locks(), self.m.last_token()));
                let out = self.run(cmd);
                assert_eq!(out, recorded, "retry returned a different outcome");
                assert_eq!(
                    before,
                    format!("{:?}", (self.m.locks(), self.m.last_token())),
                    "retry changed state"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_histories_keep_exclusion_tokens_fifo_and_dedup(ops in prop::collection::vec(op(), 1..120)) {
        let mut h = Harness::new();
        for op in ops {
            h.step(op);
        }
    }

    #[test]
    fn snapshot_roundtrip_preserves_state(ops in prop::collection::vec(op(), 1..60)) {
        let mut h = Harness::new();
        for op in ops {
            h.step(op);
        }
        let bytes = postcard::to_stdvec(&h.m).expect("serialize");
        let mut restored: Machine = postcard::from_bytes(&bytes).expect("deserialize");
        restored.rebuild_indexes();
        prop_assert_eq!(restored.next_timer_ms(), h.m.next_timer_ms());
        prop_assert_eq!(format!("{:?}", restored.locks()), format!("{:?}", h.m.locks()));
    }
}

fn audit_command(action: &str) -> Command {
    Command::Audit {
        action: action.into(),
        principal: "p".into(),
        target: "t".into(),
        detail: String::new(),
    }
}

#[test]
fn denials_never_push_admin_records_out_of_the_audit_log() {
    let mut m = Machine::default();
    apply1(&mut m, 1, audit_command("force-release"));
    for i in 0..3 * DENIAL_AUDIT_WINDOW as u64 {
        apply1(&mut m, 2 + i, audit_command(DENIED));
    }
    let admin: Vec<_> = m.audit().filter(|r| r.action != DENIED).collect();
    assert_eq!(admin.len(), 1, "the admin record was evicted");
    assert_eq!(
        m.audit().filter(|r| r.action == DENIED).count(),
        DENIAL_AUDIT_WINDOW
    );
    // Admin records evict only admin records, and the counts survive a snapshot.
    for i in 0..ADMIN_AUDIT_WINDOW as u64 {
        apply1(&mut m, 10_000 + i, audit_command("blacklist"));
    }
    assert_eq!(m.audit().count(), ADMIN_AUDIT_WINDOW + DENIAL_AUDIT_WINDOW);
    assert!(m.audit().all(|r| r.action != "force-release"));
    let mut copy: Machine =
        postcard::from_bytes(&postcard::to_stdvec(&m).expect("encode")).expect("decode");
    copy.rebuild_indexes();
    apply1(&mut copy, 99_999, audit_command(DENIED));
    assert_eq!(
        copy.audit().count(),
        ADMIN_AUDIT_WINDOW + DENIAL_AUDIT_WINDOW
    );
}

#[test]
fn a_force_release_retry_id_is_bound_to_its_lock_and_owner() {
    let mut m = Machine::default();
    let s = open(&mut m, 1);
    let grant = |m: &mut Machine, request, name: &str| match apply1(
        m,
        1,
        acquire(s, request, name, None),
    )
    .0
    {
        Outcome::Granted(g) => g,
        other => panic!("unexpected {other:?}"),
    };
    let (a, b) = (grant(&mut m, 1, "a"), grant(&mut m, 2, "b"));
    let force = |name: &str, owner| Command::ForceRelease {
        name: name.into(),
        owner,
        principal: "ops".into(),
        reason: String::new(),
        retry_id: 7,
    };
    assert!(matches!(
        apply1(&mut m, 2, force("a", a.owner)).0,
        Outcome::ForceReleased { .. }
    ));
    // A retry of that call: the same answer, no effect.
    assert!(matches!(
        apply1(&mut m, 3, force("a", a.owner)).0,
        Outcome::ForceReleased { .. }
    ));
    // The same retry id on another lock is a new call: it frees b.
    assert!(matches!(
        apply1(&mut m, 4, force("b", b.owner)).0,
        Outcome::ForceReleased { .. }
    ));
    assert!(
        m.lock("b").is_none_or(|l| l.holders.is_empty()),
        "b still held"
    );
}

#[test]
fn sessions_are_counted_per_principal() {
    let mut m = Machine::default();
    let open_as = |m: &mut Machine, open_id, principal: &str| {
        let cmd = Command::OpenSession {
            open_id,
            ttl_ms: 10_000,
            label: String::new(),
            principal: principal.into(),
        };
        match apply1(m, 0, cmd).0 {
            Outcome::SessionOpened { session, .. } => session,
            other => panic!("unexpected {other:?}"),
        }
    };
    let a = open_as(&mut m, 1, "jobs");
    open_as(&mut m, 2, "jobs");
    open_as(&mut m, 3, "ops");
    assert_eq!((m.sessions_of("jobs"), m.sessions_of("ops")), (2, 1));
    apply1(&mut m, 1, Command::CloseSession { session: a });
    assert_eq!(m.sessions_of("jobs"), 1);
    let mut copy: Machine =
        postcard::from_bytes(&postcard::to_stdvec(&m).expect("encode")).expect("decode");
    copy.rebuild_indexes();
    assert_eq!(copy.sessions_of("jobs"), 1);
}
