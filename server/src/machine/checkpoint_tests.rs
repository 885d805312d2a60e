//! Unit tests of the remaining-TTL checkpoints in the state machine: they are
//! replicated state (kept in snapshots), cleared by a renewal, and refused for
//! sessions that do not exist.

use super::*;

fn apply1(m: &mut Machine, cmd: Command) -> Outcome {
    let mut events = Vec::new();
    let batch = Batch {
        time_ms: 1,
        commands: vec![cmd],
    };
    m.apply(&batch, &mut events).remove(0)
}

fn open(m: &mut Machine) -> SessionId {
    let cmd = Command::OpenSession {
        open_id: 7,
        ttl_ms: 10_000,
        label: String::new(),
        principal: String::new(),
    };
    match apply1(m, cmd) {
        Outcome::SessionOpened { session, .. } => session,
        other => panic!("unexpected {other:?}"),
    }
}

fn checkpoint_of(m: &Machine, session: SessionId) -> Option<u64> {
    m.session(session)
        .and_then(Session::checkpoint_remaining_ms)
}

#[test]
fn checkpoints_are_replicated_state_and_cleared_by_a_renewal() {
    let mut m = Machine::default();
    let s = open(&mut m);
    assert_eq!(
        checkpoint_of(&m, s),
        None,
        "a new session has no checkpoint"
    );

    let cp = |remaining_ms| Command::Checkpoint {
        session: s,
        remaining_ms,
    };
    assert_eq!(apply1(&mut m, cp(4_000)), Outcome::Checkpointed);
    assert_eq!(checkpoint_of(&m, s), Some(4_000));
    assert_eq!(apply1(&mut m, cp(3_000)), Outcome::Checkpointed);
    assert_eq!(checkpoint_of(&m, s), Some(3_000), "the latest one counts");

    // Snapshots carry it: a node that installs one knows the checkpoint.
    let bytes = postcard::to_stdvec(&m).expect("serialize");
    let restored: Machine = postcard::from_bytes(&bytes).expect("deserialize");
    assert_eq!(checkpoint_of(&restored, s), Some(3_000));

    let clear = Command::ClearCheckpoint { session: s };
    assert_eq!(apply1(&mut m, clear), Outcome::Checkpointed);
    assert_eq!(checkpoint_of(&m, s), None);
}

#[test]
fn checkpoints_of_unknown_sessions_are_refused_and_change_nothing() {
    let mut m = Machine::default();
    let s = open(&mut m);
    let before = postcard::to_stdvec(&m).expect("serialize");
    let unknown = s + 1;
    let refused = Outcome::Rejected(Rejection::SessionExpired(unknown));
    let cp = Command::Checkpoint {
        session: unknown,
        remaining_ms: 1,
    };
    assert_eq!(apply1(&mut m, cp), refused);
    assert_eq!(
        apply1(&mut m, Command::ClearCheckpoint { session: unknown }),
        refused
    );
    assert_eq!(postcard::to_stdvec(&m).expect("serialize"), before);
}
