//! The short fuzz run of CI: every entry point of `tenure_server::fuzzing`
//! on random bytes and on mutations (bit flips, overwrites, insertions,
//! deletions, duplications, truncation) of valid inputs, for a bounded number
//! of cases. A panic is a bug in the decoder or the state machine. The long,
//! coverage-guided run is `make fuzz` (docs/fuzzing.md).
//!
//! Also here: each input the fuzzers found that crashed the server once, kept
//! as a regression test.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tenure_server::fuzzing::{self, TARGETS};

/// One edit of a mutation; positions are taken modulo the input's length.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
    /// Overwrites four bytes with an edge value (0, -1, a big length).
    Word(usize, u32),
}

fn edit() -> impl Strategy<Value = Edit> {
    let word = prop_oneof![
        Just(0u32),
        Just(u32::MAX),
        Just(0x7fff_ffff),
        Just(1 << 26),
        any::<u32>()
    ];
    prop_oneof![
        3 => (any::<usize>(), 0..8u8).prop_map(|(at, bit)| Edit::Flip(at, bit)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Set(at, b)),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        1 => (any::<usize>(), 1..32usize).prop_map(|(at, n)| Edit::Remove(at, n)),
        1 => (any::<usize>(), 1..64usize).prop_map(|(at, n)| Edit::Duplicate(at, n)),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => (any::<usize>(), word).prop_map(|(at, w)| Edit::Word(at, w)),
    ]
}

fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for e in edits {
        let len = out.len();
        let at = |i: usize| if len == 0 { 0 } else { i % len };
        match e {
            Edit::Flip(i, bit) if len > 0 => out[at(*i)] ^= 1 << bit,
            Edit::Set(i, b) if len > 0 => out[at(*i)] = *b,
            Edit::Insert(i, bytes) => {
                let i = if len == 0 { 0 } else { i % (len + 1) };
                out.splice(i..i, bytes.iter().copied());
            }
            Edit::Remove(i, n) if len > 0 => {
                let i = at(*i);
                out.drain(i..(i + n).min(len));
            }
            Edit::Duplicate(i, n) if len > 0 => {
                let i = at(*i);
                let chunk = out[i..(i + n).min(len)].to_vec();
                out.splice(i..i, chunk);
            }
            Edit::Truncate(i) => out.truncate(if len == 0 { 0 } else { i % (len + 1) }),
            Edit::Word(i, w) if len >= 4 => {
                let i = i % (len - 3);
                out[i..i + 4].copy_from_slice(&w.to_le_bytes());
            }
            _ => {}
        }
    }
    out
}

/// Random bytes of up to `max_len` (a quarter of the cases) or a mutated seed
/// of the target.
fn inputs(target: &str, max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    let seeds = fuzzing::seeds(target);
    assert!(!seeds.is_empty(), "{target} has no seeds");
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..max_len),
        3 => (prop::sample::select(seeds), prop::collection::vec(edit(), 0..6))
            .prop_map(|(seed, edits)| mutate(&seed, &edits)),
    ]
}

/// Runs `target` on `cases` generated inputs (random ones up to `max_len`
/// bytes); a panic fails with the (shrunk) input.
fn run(target: &str, cases: u32, max_len: usize) {
    let t = fuzzing::target(target).expect("a known target");
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&inputs(target, max_len), |bytes| {
        (t.run)(&bytes);
        Ok(())
    });
    if let Err(e) = result {
        panic!("fuzz target {target}: {e}");
    }
}

#[test]
fn peer_message() {
    run("peer_message", 4_000, 512);
}

#[test]
fn wal_segment() {
    run("wal_segment", 4_000, 512);
}

#[test]
fn wal_recovery() {
    run("wal_recovery", 1_500, 512);
}

#[test]
fn log_record() {
    run("log_record", 4_000, 512);
}

#[test]
fn snapshot_file() {
    run("snapshot_file", 2_000, 512);
}

#[test]
fn snapshot_body() {
    run("snapshot_body", 1_500, 512);
}

#[test]
fn access_file() {
    run("access_file", 3_000, 512);
}

#[test]
fn machine_commands() {
    run("machine_commands", 3_000, 2048);
}

#[test]
fn request_validation() {
    run("request_validation", 5_000, 512);
}

#[test]
fn every_target_is_run_here() {
    let here = [
        "peer_message",
        "wal_segment",
        "wal_recovery",
        "log_record",
        "snapshot_file",
        "snapshot_body",
        "access_file",
        "machine_commands",
        "request_validation",
    ];
    let all: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(all, here);
}

/// Writes every target's seeds as the starting corpus of the cargo-fuzz run
/// (`make fuzz` runs it): `$TENURE_FUZZ_CORPUS/<target>/seed-<n>`, by default
/// in fuzz/corpus.
#[test]
#[ignore = "writes the seed corpus of `make fuzz`"]
fn write_seed_corpus() {
    let root = std::env::var_os("TENURE_FUZZ_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus"));
    for t in TARGETS {
        let dir = root.join(t.name);
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        for (n, seed) in fuzzing::seeds(t.name).iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{n}")), seed).expect("write a seed");
        }
    }
}

// Regressions: inputs that crashed a target once, and what they found.

/// A purge record of index u64::MAX in a segment: replaying it overflowed
/// `index + 1` (store/log.rs, `LogData::purge`).
#[test]
fn regression_purge_of_the_last_index() {
    fuzzing::wal_recovery(&[1, 0, 3, 4, 163, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0, 2, 40]);
}

/// A session holding a lock with a lock-delay expired while the machine
/// clock stood at u64::MAX: the delay timer outlived its lock, and a replica
/// restored from a snapshot had no such timer (machine/mod.rs, `remove_holder`).
#[test]
fn regression_lock_delay_at_the_end_of_time() {
    use tenure_server::machine::{Batch, Command, Machine, Mode};
    let mut m = Machine::default();
    let mut events = Vec::new();
    let commands = vec![
        Command::OpenSession {
            open_id: 1,
            ttl_ms: 10_000,
            label: String::new(),
            principal: "p".into(),
        },
        Command::Acquire {
            session: 1,
            request: 1,
            name: "a".into(),
            mode: Mode::Exclusive,
            wait_ms: None,
            lock_delay_ms: 1_000,
            owner: 1,
            value: String::new(),
        },
        Command::ExpireSession { session: 1 },
    ];
    m.apply(
        &Batch {
            time_ms: u64::MAX,
            commands,
        },
        &mut events,
    );
    let bytes = postcard::to_stdvec(&m).expect("encodes");
    let mut restored: Machine = postcard::from_bytes(&bytes).expect("decodes");
    restored.rebuild_indexes();
    assert_eq!(m.next_timer_ms(), restored.next_timer_ms());
    assert_eq!(m.next_timer_ms(), None);
}

/// Two shared grants of one lock under the same owner id: closing the
/// session released one and left the other held by a session that no longer
/// existed (machine/mod.rs, `acquire` now refuses an owner id the lock
/// already has). A session's second grant of a lock is now AlreadyHeld
/// anyway, so the owner id is repeated by another session, and by one
/// session on a semaphore (whose grants a session may hold several of).
#[test]
fn regression_a_repeated_owner_id_cannot_strand_a_lock() {
    use tenure_server::machine::{Batch, Command, Machine, Mode, Outcome, Rejection};
    let mut m = Machine::default();
    let mut events = Vec::new();
    let acquire = |session, request, name: &str, mode| Command::Acquire {
        session,
        request,
        name: name.into(),
        mode,
        wait_ms: None,
        lock_delay_ms: 0,
        owner: 0,
        value: String::new(),
    };
    let open = |open_id| Command::OpenSession {
        open_id,
        ttl_ms: 10_000,
        label: String::new(),
        principal: "p".into(),
    };
    let permits = Mode::Permits { count: 1, limit: 3 };
    let commands = vec![
        open(1),
        open(2),
        acquire(1, 1, "a", Mode::Shared),
        acquire(2, 1, "a", Mode::Shared),
        acquire(1, 2, "s", permits),
        acquire(1, 3, "s", permits),
        Command::CloseSession { session: 1 },
    ];
    let out = m.apply(
        &Batch {
            time_ms: 1,
            commands,
        },
        &mut events,
    );
    assert_eq!(out[3], Outcome::Rejected(Rejection::LockHeld("a".into())));
    assert_eq!(out[5], Outcome::Rejected(Rejection::LockHeld("s".into())));
    assert!(m.lock("a").is_none(), "{:?}", m.lock("a"));
    assert!(m.lock("s").is_none(), "{:?}", m.lock("s"));
}

/// A snapshot body whose last token was u64::MAX: the first grant after it
/// overflowed (machine/mod.rs, `grant`). Such a state is now refused when it
/// is decoded (`Machine::check_restored`).
#[test]
fn regression_a_snapshot_with_an_exhausted_token_counter() {
    fuzzing::snapshot_body(&[
        0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x11,
        0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
        0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30,
        0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x03, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
        0x0a, 0x0a, 0x0a, 0x0a, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
        0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
        0x01, 0x01, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]);
}

/// Error messages of client-request validation quoted the whole input back
/// (a member address or an owner id of any length).
#[test]
fn regression_validation_errors_do_not_echo_huge_inputs() {
    // A member address of NULs and DELs: its escaped echo took 518 bytes.
    fuzzing::request_validation(&[
        138, 12, 0, 83, 16, 0, 127, 0, 0, 0, 127, 0, 1, 0, 127, 0, 0, 0, 0, 0, 0, 127, 0, 0, 127,
        0, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0,
        0, 0, 0, 0, 11, 0, 0, 0, 0, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 0, 0, 0, 1, 0, 1,
        127, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 14, 127, 14, 0, 127,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 0, 0, 0, 0, 127, 0, 0, 127, 0, 0, 11, 16, 16, 16,
        127, 1, 0, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
}
