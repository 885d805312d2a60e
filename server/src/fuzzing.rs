//! Entry points shared by the cargo-fuzz targets and the proptest runs.
//!
//! Each target takes arbitrary bytes and hands them to the real code that reads
//! something arriving from the network or the disk, or drives the state machine
//! with the commands they spell. Errors are expected; a panic is the bug. Where
//! a cheap property must hold (a round trip, an invariant of the lock table),
//! the target asserts it, so a violation is a crash too.
//!
//! - The short run is `server/tests/fuzz.rs` (proptest, part of `cargo test`):
//!   random bytes and mutations of the valid inputs of [`seeds`].
//! - The long, coverage-guided run is the cargo-fuzz crate in `fuzz/` (`make
//!   fuzz`), one fuzz target per entry of [`TARGETS`], starting from [`seeds`].
//!
//! docs/fuzzing.md describes the targets and the runs.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use openraft::errors::{Fatal, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, StreamAppendError,
    StreamAppendResult, VoteRequest, VoteResponse,
};
use openraft::{BasicNode, EntryPayload, Membership};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tenure_proto::raft::RaftMessage;
use tenure_proto::v1 as pb;

use crate::api::validate;
use crate::machine::{
    Batch, Command, Event, MAX_REQUEST_ID, Machine, Mode, Outcome, OwnerId, SessionId,
};
use crate::node::leases::Leases;
use crate::raft::network::SnapshotChunk;
use crate::raft::{Entry, LogId, Meta, NodeId, StoredMembership, TypeConfig, Vote};
use crate::security::auth::{Access, Perm, hash_token};
use crate::store::log::{self, Record};
use crate::store::snapshot;
use crate::store::state::SnapshotBody;
use crate::store::wal::{self, Wal};

/// One fuzz target: a name (the cargo-fuzz target's), what it covers, and
/// its entry point.
pub struct Target {
    /// The name of the target (also of `fuzz/fuzz_targets/<name>.rs`).
    pub name: &'static str,
    /// What it feeds the bytes to.
    pub covers: &'static str,
    /// The entry point: returns for every input; a panic is a bug.
    pub run: fn(&[u8]),
}

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "peer_message",
        covers: "peer RPC payloads (postcard of openraft requests and replies), optionally in the protobuf RaftMessage envelope",
        run: peer_message,
    },
    Target {
        name: "wal_segment",
        covers: "one write-ahead-log segment file parsed in memory, and the log records it holds",
        run: wal_segment,
    },
    Target {
        name: "wal_recovery",
        covers: "Wal::open on a directory of segments built from valid frames of fuzzer-chosen records, cut, flipped or extended; then the log's replay",
        run: wal_recovery,
    },
    Target {
        name: "log_record",
        covers: "log record payloads (postcard of entries, votes, purges, truncations) decoded and replayed",
        run: log_record,
    },
    Target {
        name: "snapshot_file",
        covers: "snapshot files (versioned and legacy) and the state in their body",
        run: snapshot_file,
    },
    Target {
        name: "snapshot_body",
        covers: "the state of a snapshot body (the machine and membership), then the leases reset and commands applied to it",
        run: snapshot_body,
    },
    Target {
        name: "access_file",
        covers: "the access file (TOML) and lookups of principals in it",
        run: access_file,
    },
    Target {
        name: "machine_commands",
        covers: "batches of arbitrary commands applied to the state machine, with its invariants checked after each batch",
        run: machine_commands,
    },
    Target {
        name: "request_validation",
        covers: "client-request validation of names, texts, durations, ids and addresses, and of decoded protobuf requests",
        run: request_validation,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Reads structured choices from fuzzer bytes; past the end every read is 0.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A number in `0..n` (n at most 65 536).
    fn below(&mut self, n: usize) -> usize {
        let raw = if n <= 256 {
            usize::from(self.byte())
        } else {
            usize::from(u16::from_le_bytes([self.byte(), self.byte()]))
        };
        raw % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let head = self.bytes(8);
        b[..head.len()].copy_from_slice(head);
        u64::from_le_bytes(b)
    }

    fn u128(&mut self) -> u128 {
        (u128::from(self.u64()) << 64) | u128::from(self.u64())
    }

    /// A number, most often one at an edge.
    fn number(&mut self) -> u64 {
        match self.byte() % 12 {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => u64::MAX - 1,
            4 => i64::MAX as u64,
            5 => i64::MAX as u64 + 1,
            6 => u64::from(u32::MAX),
            7..=9 => u64::from(self.byte()),
            10 => u64::from(u16::from_le_bytes([self.byte(), self.byte()])) * 100,
            _ => self.u64(),
        }
    }

    /// Up to `max` bytes as text (invalid UTF-8 replaced).
    fn text(&mut self, max: usize) -> String {
        let n = self.below(max + 1);
        String::from_utf8_lossy(self.bytes(n)).into_owned()
    }
}

// ---------------------------------------------------------------------------
// Peer messages

/// Peer RPC payloads. The first byte picks the message type (low bits) and
/// whether the rest is a protobuf `RaftMessage` envelope (high bit) or the
/// postcard payload itself.
pub fn peer_message(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let payload = if kind & 0x80 != 0 {
        match RaftMessage::decode(rest) {
            Ok(msg) => msg.payload,
            Err(_) => return,
        }
    } else {
        rest.to_vec()
    };
    match (kind & 0x7f) % 7 {
        0 => request::<AppendEntriesRequest<TypeConfig>>(&payload, |r| r.to_string()),
        1 => request::<VoteRequest<TypeConfig>>(&payload, |r| r.to_string()),
        2 => request::<SnapshotChunk>(&payload, |r| format!("{r:?}")),
        3 => reply::<AppendEntriesResponse<TypeConfig>>(&payload),
        4 => reply::<VoteResponse<TypeConfig>>(&payload),
        5 => reply::<Option<SnapshotResponse<TypeConfig>>>(&payload),
        _ => stream_reply(&payload),
    }
}

/// Decodes a request as the peer service does, shows it as openraft logs it,
/// and checks that it re-encodes to something that decodes to the same.
fn request<T: Serialize + DeserializeOwned>(payload: &[u8], show: fn(&T) -> String) {
    let Ok(req) = crate::raft::decode_request::<T>(payload) else {
        return;
    };
    let _ = show(&req);
    round_trip(&req);
}

/// Decodes a reply as the peer client does.
fn reply<R>(payload: &[u8])
where
    R: Serialize + DeserializeOwned + std::fmt::Debug,
{
    match crate::raft::network::decode_reply::<R>(payload) {
        Ok(answer) => {
            let _ = format!("{answer:?}");
            round_trip(&answer);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Decodes one answer of an AppendEntries stream as the peer client does.
fn stream_reply(payload: &[u8]) {
    match crate::raft::network::decode_stream_reply(payload) {
        Ok(answer) => {
            let _ = format!("{answer:?}");
            round_trip(&answer);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Encoding a decoded value and decoding that gives the same value (compared
/// by its encoding).
fn round_trip<T: Serialize + DeserializeOwned>(value: &T) {
    let once = postcard::to_stdvec(value).expect("a decoded value encodes");
    let again: T = postcard::from_bytes(&once).expect("an encoded value decodes");
    let twice = postcard::to_stdvec(&again).expect("a decoded value encodes");
    assert_eq!(once, twice, "the round trip changed the value");
}

// ---------------------------------------------------------------------------
// Write-ahead log

/// One segment file parsed in memory: the valid prefix it keeps must be
/// exactly its header and the frames of the records it returns; the records
/// are then decoded and replayed as the log's recovery does.
pub fn wal_segment(data: &[u8]) {
    let Ok(parsed) = wal::parse(Path::new("fuzz.wal"), data) else {
        return;
    };
    assert!(parsed.valid <= data.len(), "valid prefix past the end");
    let header = data.starts_with(b"TNWL") && data.len() >= 8;
    let mut rebuilt = if header {
        data[..8].to_vec()
    } else {
        Vec::new()
    };
    if data.starts_with(b"TNWL") && !header {
        assert!(parsed.records.is_empty() && parsed.valid == 0);
    } else {
        for record in &parsed.records {
            if header {
                wal::frame(record, &mut rebuilt);
            } else {
                frame_v0(record, &mut rebuilt);
            }
        }
        assert_eq!(
            rebuilt.as_slice(),
            &data[..parsed.valid],
            "the valid prefix is not the frames of the records"
        );
    }
    if parsed.valid == data.len() {
        assert!(!parsed.valid_after, "a valid frame after the end");
    }
    for record in &parsed.records {
        if let Ok(r) = log::decode_record(record) {
            round_trip(&r);
        }
    }
    let _ = log::replay(vec![(1, parsed.records)]);
}

/// A version 0 frame: `[len][crc32(payload)][payload]`.
fn frame_v0(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// A log record chosen by the fuzzer, encoded (or raw bytes).
fn record_payload(inp: &mut Input<'_>) -> Vec<u8> {
    let log_id =
        |inp: &mut Input<'_>| crate::raft::log_id(inp.number(), inp.number(), inp.number());
    let record = match inp.below(8) {
        0 | 1 => {
            let id = log_id(inp);
            Record::Entry(entry(inp, id))
        }
        2 => Record::Truncate(inp.number()),
        3 => Record::Purged(log_id(inp)),
        4 => Record::Vote(if inp.flag() {
            Vote::new_committed(inp.number(), inp.number())
        } else {
            Vote::new(inp.number(), inp.number())
        }),
        5 => Record::Committed(inp.flag().then(|| log_id(inp))),
        _ => {
            let n = inp.below(64);
            return inp.bytes(n).to_vec();
        }
    };
    postcard::to_stdvec(&record).unwrap_or_default()
}

/// A log entry with a fuzzer-chosen payload.
fn entry(inp: &mut Input<'_>, log_id: LogId) -> Entry {
    let payload = match inp.below(3) {
        0 => EntryPayload::Blank,
        1 => {
            let nodes = inp.below(4) as u64;
            let voters: BTreeSet<NodeId> = (0..nodes).collect();
            let all: std::collections::BTreeMap<NodeId, BasicNode> = (0..nodes
                + inp.below(2) as u64)
                .map(|id| (id, BasicNode { addr: inp.text(16) }))
                .collect();
            match Membership::new(vec![voters], all) {
                Ok(m) => EntryPayload::Membership(m),
                // Not a membership openraft would ever write.
                Err(_) => EntryPayload::Blank,
            }
        }
        _ => {
            let mut commands = Vec::new();
            for _ in 0..inp.below(3) {
                commands.push(command(inp, &Machine::default(), &[]));
            }
            EntryPayload::Normal(Batch {
                time_ms: inp.number(),
                commands,
            })
        }
    };
    Entry { log_id, payload }
}

/// A directory of one to three segments, each built from valid frames of
/// fuzzer-chosen records (version 1, version 0, or raw bytes), then maybe cut,
/// flipped or extended. `Wal::open` must recover it or refuse it with an
/// error; what it recovers is replayed as the log does. A segment set with no
/// damage must come back whole; one whose only damage is a cut in the newest
/// segment must come back as every frame before the cut; and a log that
/// opened opens again to the same records, with nothing more to cut.
pub fn wal_recovery(data: &[u8]) {
    let mut inp = Input::new(data);
    let Ok(dir) = scratch_dir() else {
        return;
    };
    let segments = 1 + inp.below(3);
    let first = 1 + inp.below(4) as u64;
    // What recovery must return, while that is known: Some(per segment records).
    let mut expected: Option<Vec<Vec<Vec<u8>>>> = Some(Vec::new());
    for i in 0..segments {
        let newest = i + 1 == segments;
        let style = inp.below(5);
        let mut bytes = Vec::new();
        let mut payloads = Vec::new();
        // Frame ends, for the records that a cut keeps.
        let mut ends = Vec::new();
        if style <= 2 {
            bytes.extend_from_slice(&wal::segment_header());
        }
        let raw = style == 4;
        if raw {
            let n = inp.below(300);
            bytes.extend_from_slice(inp.bytes(n));
        } else {
            for _ in 0..inp.below(6) {
                let payload = record_payload(&mut inp);
                if style <= 2 {
                    wal::frame(&payload, &mut bytes);
                } else {
                    frame_v0(&payload, &mut bytes);
                }
                ends.push(bytes.len());
                payloads.push(payload);
            }
        }
        // v0 never accepts an empty record: it reads as a torn tail.
        let v0_empty = style == 3 && payloads.iter().any(|p| p.is_empty());
        let mut known = !raw && !v0_empty;
        match inp.below(5) {
            0 | 1 => {}
            2 => {
                let cut = inp.below(bytes.len() + 1);
                bytes.truncate(cut);
                if newest && style <= 2 && cut >= 8 {
                    payloads.truncate(ends.iter().filter(|&&e| e <= cut).count());
                } else {
                    known = false;
                }
            }
            3 => {
                if !bytes.is_empty() {
                    let at = inp.below(bytes.len());
                    bytes[at] ^= 1 << (inp.byte() % 8);
                }
                known = false;
            }
            _ => {
                let n = inp.below(40);
                bytes.extend_from_slice(inp.bytes(n));
                known = false;
            }
        }
        if let (Some(exp), true) = (expected.as_mut(), known) {
            exp.push(payloads);
        } else {
            expected = None;
        }
        let path = wal::segment_path(dir.path(), first + i as u64);
        if std::fs::write(&path, &bytes).is_err() {
            return;
        }
    }
    let Ok((wal, recovered)) = Wal::open(dir.path()) else {
        // Refused (damage before valid frames, a newer format) or I/O.
        if let Some(exp) = &expected {
            assert!(
                exp.iter().any(|s| s.iter().any(|p| contains_frame(p))),
                "an undamaged log was refused"
            );
        }
        return;
    };
    drop(wal);
    let records: Vec<Vec<Vec<u8>>> = recovered.segments.iter().map(|(_, r)| r.clone()).collect();
    if let Some(exp) = expected {
        assert_eq!(records, exp, "recovery did not return the records written");
    }
    let _ = log::replay(recovered.segments);
    let (_, again) = Wal::open(dir.path()).expect("a log that opened opens again");
    assert_eq!(again.truncated_bytes, 0, "a second recovery cut more");
    let again: Vec<Vec<Vec<u8>>> = again.segments.into_iter().map(|(_, r)| r).collect();
    assert_eq!(again, records, "a second recovery read other records");
}

/// Whether a payload could itself hold something that parses as a frame
/// (then damage detection may legitimately see "valid frames after").
fn contains_frame(payload: &[u8]) -> bool {
    (0..payload.len()).any(|p| wal::unframe(&payload[p..]).is_some())
}

/// A fresh directory for file-based targets, in memory where the system has
/// a tmpfs at /dev/shm (these targets write and fsync files). Removed on drop.
/// (Not `tempfile`: the server library does not depend on it outside tests.)
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_dir() -> std::io::Result<ScratchDir> {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    };
    let unique: u64 = rand::random();
    let dir = base.join(format!("tenure-fuzz-{}-{unique:016x}", std::process::id()));
    std::fs::create_dir(&dir)?;
    Ok(ScratchDir(dir))
}

/// Log record payloads: `[len: u8][payload]` repeated (a last short chunk
/// takes what is left); each is decoded, then all are replayed in order as
/// the log's recovery does.
pub fn log_record(data: &[u8]) {
    let mut inp = Input::new(data);
    let mut records = Vec::new();
    while !inp.is_empty() && records.len() < 64 {
        let n = usize::from(inp.byte());
        records.push(inp.bytes(n).to_vec());
    }
    for r in &records {
        if let Ok(record) = log::decode_record(r) {
            let _ = format!("{record:?}");
            round_trip(&record);
        }
    }
    let _ = log::replay(vec![(1, records)]);
}

// ---------------------------------------------------------------------------
// Snapshots

/// A snapshot file held in memory; a body that decodes goes on to
/// [`snapshot_body`]. A file that decodes re-encodes to one that decodes to
/// the same metadata and body. The first byte picks the mode: even, the rest
/// is the file as it is; odd, the rest spells frames that the harness gives
/// correct checksums (random bytes rarely pass a CRC), see
/// [`framed_snapshot`].
pub fn snapshot_file(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let framed;
    let bytes = if mode & 1 == 0 {
        rest
    } else {
        framed = framed_snapshot(mode, rest);
        &framed
    };
    let Ok(file) = snapshot::decode(bytes, Path::new("fuzz.snap")) else {
        return;
    };
    let encoded = snapshot::encode(&file.meta, &file.body).expect("a decoded snapshot encodes");
    let again = snapshot::decode(&encoded, Path::new("again.snap")).expect("re-encoded decodes");
    assert_eq!(again.meta, file.meta);
    assert_eq!(again.body, file.body);
    snapshot_body(&file.body);
}

/// A snapshot file from fuzzer-chosen frames with correct checksums: the
/// header (version 1, or with mode bit 2 a version from the input), then
/// `[kind % 5][len: u8][payload]` frames from the input (kind 1 is metadata,
/// 2 a body chunk, 3 an end frame, others invalid), then, with mode bit 4, an
/// end frame matching the chunks.
fn framed_snapshot(mode: u8, rest: &[u8]) -> Vec<u8> {
    let mut inp = Input::new(rest);
    let mut out = snapshot::MAGIC.to_vec();
    let version = if mode & 2 == 0 {
        snapshot::FORMAT_VERSION
    } else {
        u32::from(inp.byte() % 3)
    };
    out.extend_from_slice(&version.to_le_bytes());
    let mut body_len = 0u64;
    let mut body_crc = crc32fast::Hasher::new();
    while !inp.is_empty() {
        let kind = inp.byte() % 5;
        let n = usize::from(inp.byte());
        let payload = inp.bytes(n);
        if kind == 2 {
            body_crc.update(payload);
            body_len += payload.len() as u64;
        }
        snapshot_frame(kind, payload, &mut out);
    }
    if mode & 4 != 0 {
        let mut end = body_len.to_le_bytes().to_vec();
        end.extend_from_slice(&body_crc.finalize().to_le_bytes());
        snapshot_frame(3, &end, &mut out);
    }
    out
}

/// One frame of the snapshot file format: kind, length, crc32 of the three,
/// payload.
fn snapshot_frame(kind: u8, payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind]);
    crc.update(&len);
    crc.update(payload);
    out.push(kind);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(payload);
}

/// A snapshot body: decoded as a node opening its state or installing a
/// snapshot does, its leases reset (what a new leader does), then a few
/// commands applied to it, built from what it holds.
pub fn snapshot_body(data: &[u8]) {
    let Ok(body) = SnapshotBody::decode(data) else {
        return;
    };
    let encoded = body.encode().expect("a decoded state encodes");
    let again = SnapshotBody::decode(&encoded).expect("a re-encoded state decodes");
    assert_eq!(
        again.encode().expect("encodes"),
        encoded,
        "the round trip changed the state"
    );
    let mut machine = body.machine;
    let _ = machine.next_timer_ms();
    Leases::default().reset_all(&machine, Instant::now());
    let session = machine.sessions().keys().next().copied().unwrap_or(1);
    let holder = machine
        .locks()
        .iter()
        .find_map(|(name, l)| l.holders.first().map(|h| (name.clone(), h.clone())));
    let name = machine
        .locks()
        .keys()
        .next()
        .cloned()
        .unwrap_or_else(|| "a".into());
    let mut commands = vec![
        Command::Tick,
        Command::Acquire {
            session,
            request: 1,
            name: name.clone(),
            mode: Mode::Exclusive,
            wait_ms: Some(1_000),
            lock_delay_ms: 10,
            owner: 1,
            value: String::new(),
        },
        Command::Acquire {
            session,
            request: 2,
            name: "fresh".into(),
            mode: Mode::Shared,
            wait_ms: None,
            lock_delay_ms: 0,
            owner: 2,
            value: String::new(),
        },
        Command::CancelAcquire {
            session,
            request: 1,
        },
    ];
    if let Some((lock, h)) = holder {
        commands.push(Command::Release {
            session: h.session,
            request: 3,
            name: lock.clone(),
            owner: h.owner,
        });
        commands.push(Command::ForceRelease {
            name: lock,
            owner: h.owner,
            principal: "fuzz".into(),
            reason: String::new(),
            retry_id: 1,
        });
    }
    commands.push(Command::ExpireSession { session });
    commands.push(Command::OpenSession {
        open_id: 7,
        ttl_ms: 10_000,
        label: String::new(),
        principal: "fuzz".into(),
    });
    let mut events = Vec::new();
    let stamp = machine.stamp_ms();
    for time_ms in [
        stamp.saturating_add(1),
        stamp.saturating_add(60_000),
        u64::MAX,
    ] {
        machine.apply(
            &Batch {
                time_ms,
                commands: commands.clone(),
            },
            &mut events,
        );
    }
}

// ---------------------------------------------------------------------------
// Access file

/// The access file: parsed; if it parses, its principals are looked up by
/// every quoted string in it (as token and as certificate name) and asked
/// for each permission.
pub fn access_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(access) = Access::parse(&text) else {
        return;
    };
    let quoted: Vec<&str> = text.split('"').skip(1).step_by(2).take(16).collect();
    for probe in quoted.iter().copied().chain(["", "x"]) {
        let _ = hash_token(probe);
        for p in [access.by_token(probe), access.by_cert_cn(probe)]
            .into_iter()
            .flatten()
        {
            for perm in [Perm::Read, Perm::Lock, Perm::Admin] {
                let _ = p.may_anywhere(perm);
                for name in quoted.iter().copied().chain(["", "jobs/x"]) {
                    let _ = p.may(perm, name);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// State machine

/// A session id: mostly a live one, sometimes none, 0, the next or an edge.
fn pick_session(inp: &mut Input<'_>, m: &Machine) -> SessionId {
    let live: Vec<SessionId> = m.sessions().keys().copied().collect();
    match inp.below(8) {
        0 => inp.number(),
        1 => m
            .sessions()
            .keys()
            .next_back()
            .map_or(1, |s| s.saturating_add(1)),
        _ if live.is_empty() => inp.number(),
        _ => live[inp.below(live.len())],
    }
}

/// A lock name: mostly a small set (so commands meet), sometimes one that
/// exists, an empty or long one, or arbitrary text.
fn pick_name(inp: &mut Input<'_>, m: &Machine) -> String {
    match inp.below(10) {
        0..=4 => ["a", "b", "c"][inp.below(3)].to_owned(),
        5 | 6 => m
            .locks()
            .keys()
            .nth(inp.below(m.locks().len().max(1)))
            .cloned()
            .unwrap_or_default(),
        7 => String::new(),
        8 => "n".repeat(inp.below(600)),
        _ => inp.text(32),
    }
}

/// An owner id: mostly a current holder's or a waiter's, else small or arbitrary.
fn pick_owner(inp: &mut Input<'_>, m: &Machine, owners: &[OwnerId]) -> OwnerId {
    let current: Vec<OwnerId> = m
        .locks()
        .values()
        .flat_map(|l| {
            l.holders
                .iter()
                .map(|h| h.owner)
                .chain(l.waiters.iter().map(|w| w.owner))
        })
        .collect();
    match inp.below(6) {
        0 | 1 if !current.is_empty() => current[inp.below(current.len())],
        2 if !owners.is_empty() => owners[inp.below(owners.len())],
        3 => u128::MAX,
        4 => inp.u128(),
        _ => u128::from(inp.byte()),
    }
}

/// A request id: mostly small (so retries and cancels meet), sometimes an edge.
fn pick_request(inp: &mut Input<'_>) -> u64 {
    match inp.below(4) {
        0 => inp.number(),
        1 => MAX_REQUEST_ID,
        _ => u64::from(inp.byte() % 16),
    }
}

/// A command with fuzzer-chosen arguments, referring to what `m` holds often
/// enough that commands interact.
fn command(inp: &mut Input<'_>, m: &Machine, owners: &[OwnerId]) -> Command {
    let session = pick_session(inp, m);
    match inp.below(17) {
        0 => Command::OpenSession {
            open_id: if inp.flag() {
                u128::from(inp.byte() % 8)
            } else {
                inp.u128()
            },
            ttl_ms: inp.number(),
            label: inp.text(16),
            principal: ["p", "q", ""][inp.below(3)].to_owned(),
        },
        1 => Command::CloseSession { session },
        2 => Command::ExpireSession { session },
        3..=5 => Command::Acquire {
            session,
            request: pick_request(inp),
            name: pick_name(inp, m),
            mode: if inp.flag() {
                Mode::Shared
            } else {
                Mode::Exclusive
            },
            wait_ms: inp.flag().then(|| inp.number()),
            lock_delay_ms: inp.number(),
            owner: pick_owner(inp, m, owners),
            value: inp.text(8),
        },
        6 => Command::CancelAcquire {
            session,
            request: pick_request(inp),
        },
        7 => Command::Release {
            session,
            request: pick_request(inp),
            name: pick_name(inp, m),
            owner: pick_owner(inp, m, owners),
        },
        8 => Command::ForceRelease {
            name: pick_name(inp, m),
            owner: pick_owner(inp, m, owners),
            principal: inp.text(8),
            reason: inp.text(8),
            retry_id: if inp.flag() {
                u64::from(inp.byte() % 4)
            } else {
                inp.number()
            },
        },
        9 => Command::Blacklist {
            session,
            principal: inp.text(8),
            reason: inp.text(8),
        },
        10 => Command::Tick,
        11 => Command::Audit {
            action: if inp.flag() {
                crate::machine::DENIED.to_owned()
            } else {
                inp.text(8)
            },
            principal: inp.text(8),
            target: inp.text(8),
            detail: inp.text(8),
        },
        12 => Command::Checkpoint {
            session,
            remaining_ms: inp.number(),
        },
        13 => Command::RequestRelease {
            name: pick_name(inp, m),
            owner: inp.flag().then(|| pick_owner(inp, m, owners)),
            principal: inp.text(8),
            reason: inp.text(8),
        },
        15 => {
            let names: Vec<String> = (0..inp.below(4)).map(|_| pick_name(inp, m)).collect();
            let owners = names.iter().map(|_| pick_owner(inp, m, owners)).collect();
            Command::AcquireAll {
                session,
                request: pick_request(inp),
                names,
                mode: if inp.flag() {
                    Mode::Shared
                } else {
                    Mode::Exclusive
                },
                wait_ms: inp.flag().then(|| inp.number() % 1_000),
                lock_delay_ms: inp.number() % 100,
                owners,
                value: inp.text(8),
            }
        }
        14 => Command::SetValue {
            session,
            request: pick_request(inp),
            name: pick_name(inp, m),
            owner: pick_owner(inp, m, owners),
            value: inp.text(8),
        },
        _ => Command::ClearCheckpoint { session },
    }
}

/// Tracks the fencing tokens granted so far (G2).
#[derive(Default)]
struct Tokens {
    seen: BTreeSet<u64>,
}

impl Tokens {
    /// Every token not seen before must be above every token seen before (a
    /// retried request gets its recorded grant again, with its old token).
    fn check(&mut self, token: u64) {
        if self.seen.contains(&token) {
            return;
        }
        if let Some(&max) = self.seen.last() {
            assert!(token > max, "token {token} granted after token {max}");
        }
        self.seen.insert(token);
    }
}

/// Batches of arbitrary commands (arbitrary names, ids, TTLs, times, u64::MAX
/// and friends) applied to a fresh machine. After each batch: one outcome per
/// command, the clock never goes back, at most one exclusive holder per lock
/// and never beside another holder, holders' tokens unique and at most the
/// last token, fresh tokens above every earlier one, every holder and waiter
/// of a live session. A replica restored from a snapshot of the machine at a
/// fuzzer-chosen batch applies the rest too and must end in the same state.
pub fn machine_commands(data: &[u8]) {
    let mut inp = Input::new(data);
    let mut m = Machine::default();
    let restore_at = inp.below(16);
    let mut replica: Option<Machine> = None;
    let mut tokens = Tokens::default();
    let mut owners: Vec<OwnerId> = Vec::new();
    let mut time_ms = inp.number();
    let mut batches = 0;
    while !inp.is_empty() && batches < 64 {
        if batches == restore_at {
            replica = Some(restore(&m));
        }
        batches += 1;
        time_ms = match inp.below(8) {
            0 => time_ms,
            1 => time_ms.saturating_sub(u64::from(inp.byte())),
            2 => inp.number(),
            3 => time_ms.saturating_add(inp.number()),
            _ => time_ms.saturating_add(u64::from(inp.byte()) * 50),
        };
        let mut commands = Vec::new();
        for _ in 0..1 + inp.below(8) {
            let cmd = command(&mut inp, &m, &owners);
            if let Command::Acquire { owner, .. } = &cmd {
                owners.push(*owner);
            }
            commands.push(cmd);
        }
        let batch = Batch { time_ms, commands };
        let clock_before = m.time_ms();
        let mut events = Vec::new();
        let out = m.apply(&batch, &mut events);
        assert_eq!(out.len(), batch.commands.len(), "one outcome per command");
        assert!(m.time_ms() >= clock_before, "the clock went back");
        for token in granted_tokens(&out, &events) {
            tokens.check(token);
        }
        check_machine(&m);
        if let Some(r) = replica.as_mut() {
            let mut replica_events = Vec::new();
            let replica_out = r.apply(&batch, &mut replica_events);
            assert_eq!(replica_out, out, "a restored replica answered otherwise");
            assert_eq!(replica_events, events, "a restored replica's events differ");
        }
    }
    let restored = restore(&m);
    assert_eq!(restored.next_timer_ms(), m.next_timer_ms());
    if let Some(r) = replica {
        assert_eq!(
            encode_machine(&r),
            encode_machine(&m),
            "a restored replica diverged"
        );
        assert_eq!(r.next_timer_ms(), m.next_timer_ms());
    }
}

/// The machine through a snapshot body, as a node installing it gets it.
fn restore(m: &Machine) -> Machine {
    let body = SnapshotBody {
        machine: m.clone(),
        membership: StoredMembership::default(),
    };
    let bytes = body.encode().expect("a state encodes");
    let restored = SnapshotBody::decode(&bytes).expect("an encoded state decodes");
    assert_eq!(encode_machine(&restored.machine), encode_machine(m));
    restored.machine
}

fn encode_machine(m: &Machine) -> Vec<u8> {
    postcard::to_stdvec(m).expect("a machine encodes")
}

/// Tokens of the grants in these outcomes and events, in order.
fn granted_tokens(out: &[Outcome], events: &[Event]) -> Vec<u64> {
    // Events of a batch come before or during its outcomes; order by token
    // within the batch, since each fresh grant takes the next token.
    let mut tokens: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Resolved {
                outcome: Outcome::Granted(g),
                ..
            } => Some(g.token),
            _ => None,
        })
        .collect();
    for o in out {
        match o {
            Outcome::Granted(g) => tokens.push(g.token),
            Outcome::ForceReleased { granted } | Outcome::GrantedAll(granted) => {
                tokens.extend(granted.iter().map(|g| g.token))
            }
            _ => {}
        }
    }
    tokens.sort_unstable();
    tokens
}

/// The invariants of the lock table that are cheap to check.
fn check_machine(m: &Machine) {
    let mut tokens = BTreeSet::new();
    for (name, lock) in m.locks() {
        let exclusive = lock
            .holders
            .iter()
            .filter(|h| h.mode == Mode::Exclusive)
            .count();
        assert!(
            exclusive == 0 || lock.holders.len() == 1,
            "lock {name:?}: {} holders, {exclusive} exclusive",
            lock.holders.len()
        );
        for h in &lock.holders {
            assert!(tokens.insert(h.token), "token {} held twice", h.token);
            assert!(h.token <= m.last_token(), "token past the last token");
            let session = m.session(h.session);
            assert!(
                session.is_some_and(|s| s.held().any(|n| n == name)),
                "lock {name:?} held by session {} that does not know it",
                h.session
            );
        }
        for w in &lock.waiters {
            assert!(
                m.session(w.session).is_some(),
                "lock {name:?} has a waiter of a dead session {}",
                w.session
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Client-request validation

/// The longest message a validation error may carry: it must not echo a huge
/// input back.
const MAX_ERROR_MESSAGE: usize = 512;

fn bounded<T>(result: &Result<T, tonic::Status>) {
    if let Err(status) = result {
        assert!(
            status.message().len() <= MAX_ERROR_MESSAGE,
            "a {}-byte error message",
            status.message().len()
        );
    }
}

/// Every validator with arbitrary strings and numbers: each must accept
/// exactly what its rule says, and its error message is bounded. Selector 9
/// decodes a protobuf client request from the rest and validates it as the
/// service does.
pub fn request_validation(data: &[u8]) {
    let mut inp = Input::new(data);
    match inp.below(10) {
        0 => {
            let name = inp.text(600);
            let ok = !name.is_empty() && name.len() <= 256 && !name.chars().any(char::is_control);
            check(validate::lock_name(&name), ok, &name);
        }
        1 => {
            let text = inp.text(1_200);
            let ok = text.len() <= 1_024 && !text.chars().any(|c| c.is_control() && c != '\t');
            check(validate::text("label", &text), ok, &text);
        }
        2 => {
            let ms = inp.number();
            let bounds = [
                (validate::MIN_TTL, validate::MAX_TTL),
                (std::time::Duration::ZERO, validate::MAX_WAIT),
                (std::time::Duration::ZERO, validate::MAX_LOCK_DELAY),
            ];
            let (min, max) = bounds[inp.below(bounds.len())];
            let ok = u128::from(ms) >= min.as_millis() && u128::from(ms) <= max.as_millis();
            let result = validate::millis("ttl_ms", ms, min, max);
            check(result.clone().map(|_| ()), ok, &ms);
            if let Ok(v) = result {
                assert_eq!(v, ms);
            }
        }
        3 => {
            let id = inp.number();
            check(validate::session_id(id).map(|_| ()), id != 0, &id);
        }
        4 => {
            let id = inp.number();
            let ok = (1..=MAX_REQUEST_ID).contains(&id);
            check(validate::request_id("request_id", id).map(|_| ()), ok, &id);
        }
        5 => {
            let s = owner_text(&mut inp);
            let ok = s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
            let result = validate::owner_id(&s);
            bounded(&result);
            assert_eq!(result.is_ok(), ok, "owner id {s:?}");
            if let Ok(v) = result {
                assert_eq!(validate::owner_hex(v), s.to_ascii_lowercase());
            }
        }
        6 => {
            let n = inp.below(40);
            let bytes = inp.bytes(n);
            check(validate::open_id(bytes).map(|_| ()), bytes.len() == 16, &n);
        }
        7 => {
            let n = u32::try_from(inp.number() & 0xffff_ffff).unwrap_or(u32::MAX);
            let result = validate::limit(n);
            check(result.clone().map(|_| ()), n <= validate::MAX_LIST, &n);
            if let Ok(l) = result {
                assert!(l >= 1 && l <= validate::MAX_LIST as usize);
            }
        }
        8 => {
            let addr = if inp.flag() {
                format!("{}:{}", inp.text(12), inp.text(7))
            } else {
                inp.text(400)
            };
            let result = validate::member_addr(&addr);
            bounded(&result);
            if result.is_ok() {
                let (host, port) = addr
                    .rsplit_once(':')
                    .expect("an accepted address has a port");
                assert!(!host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
                assert!(addr.len() <= 255);
            }
        }
        _ => decoded_request(&mut inp),
    }
}

/// An owner id candidate: arbitrary text, or a valid one with one character
/// changed, cut or added.
fn owner_text(inp: &mut Input<'_>) -> String {
    let mut s = validate::owner_hex(inp.u128());
    match inp.below(5) {
        0 => return inp.text(80),
        1 => {}
        2 => {
            let at = inp.below(32);
            let c = char::from(inp.byte());
            s.replace_range(at..=at, &c.to_string());
        }
        3 => s.truncate(inp.below(32)),
        _ => s.insert(inp.below(33), char::from(inp.byte())),
    }
    s
}

fn check<T: std::fmt::Debug>(result: Result<(), tonic::Status>, ok: bool, input: &T) {
    bounded(&result);
    assert_eq!(result.is_ok(), ok, "validation of {input:?}: {result:?}");
}

/// A protobuf client request decoded from the rest of the input and validated
/// field by field as the service does before proposing anything.
fn decoded_request(inp: &mut Input<'_>) {
    let which = inp.below(4);
    let rest = inp.bytes(usize::MAX);
    let results: Vec<Result<(), tonic::Status>> = match which {
        0 => {
            let Ok(r) = pb::OpenSessionRequest::decode(rest) else {
                return;
            };
            vec![
                validate::millis("ttl_ms", r.ttl_ms, validate::MIN_TTL, validate::MAX_TTL)
                    .map(|_| ()),
                validate::text("label", &r.label),
                validate::open_id(&r.open_id).map(|_| ()),
            ]
        }
        1 => {
            let Ok(r) = pb::AcquireRequest::decode(rest) else {
                return;
            };
            vec![
                validate::session_id(r.session_id).map(|_| ()),
                validate::request_id("request_id", r.request_id).map(|_| ()),
                validate::lock_name(&r.name),
                pb::LockMode::try_from(r.mode)
                    .map(|_| ())
                    .map_err(|_| crate::api::errors::invalid("unknown lock mode")),
                validate::millis(
                    "wait_timeout_ms",
                    r.wait_timeout_ms,
                    std::time::Duration::ZERO,
                    validate::MAX_WAIT,
                )
                .map(|_| ()),
                validate::millis(
                    "lock_delay_ms",
                    r.lock_delay_ms,
                    std::time::Duration::ZERO,
                    validate::MAX_LOCK_DELAY,
                )
                .map(|_| ()),
            ]
        }
        2 => {
            let Ok(r) = pb::ReleaseRequest::decode(rest) else {
                return;
            };
            vec![
                validate::session_id(r.session_id).map(|_| ()),
                validate::request_id("request_id", r.request_id).map(|_| ()),
                validate::lock_name(&r.name),
                validate::owner_id(&r.owner_id).map(|_| ()),
            ]
        }
        _ => {
            let Ok(r) = pb::ForceReleaseRequest::decode(rest) else {
                return;
            };
            vec![
                validate::lock_name(&r.name),
                validate::owner_id(&r.owner_id).map(|_| ()),
                validate::text("reason", &r.reason),
            ]
        }
    };
    for r in &results {
        bounded(r);
    }
}

// ---------------------------------------------------------------------------
// Seeds

/// Valid inputs of the target `name` (empty for an unknown name): the
/// proptest run mutates them and the fuzzers start from them, so that both get
/// past the first checks of each decoder.
pub fn seeds(name: &str) -> Vec<Vec<u8>> {
    match name {
        "peer_message" => peer_seeds(),
        "wal_segment" => wal_seeds(),
        "wal_recovery" => vec![
            vec![0; 64],
            (0..=255).collect(),
            vec![2, 1, 0, 5, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 3, 2, 9, 9, 1],
            vec![1, 0, 3, 4, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0, 2, 40],
            [7u8; 40].into_iter().chain([1, 3, 2, 1, 0]).collect(),
        ],
        "log_record" => {
            let mut out = Vec::new();
            for r in sample_records() {
                if let Ok(bytes) = postcard::to_stdvec(&r)
                    && let Ok(len) = u8::try_from(bytes.len())
                {
                    out.push(len);
                    out.extend_from_slice(&bytes);
                }
            }
            vec![out]
        }
        "snapshot_file" => snapshot_seeds(),
        "snapshot_body" => vec![
            sample_body(&sample_machine()),
            sample_body(&Machine::default()),
        ],
        "access_file" => vec![
            format!(
                "[[principal]]\nname = \"jobs\"\ntoken_sha256 = \"{}\"\nrules = [{{ prefix = \"jobs/\", allow = [\"lock\", \"read\"] }}]\n\n\
                 [[principal]]\nname = \"ops\"\ncert_cn = \"ops.example.com\"\nrules = [{{ prefix = \"\", allow = [\"admin\", \"lock\", \"read\"] }}]\n",
                hash_token("s3cret")
            )
            .into_bytes(),
            b"[[principal]]\nname = \"x\"\ncert_cn = \"x\"\n".to_vec(),
        ],
        "machine_commands" => vec![
            vec![3, 1, 5, 0, 3, 2, 4, 3, 9, 0, 4, 1, 2, 4, 3, 5, 6, 7, 8, 9, 10],
            (0..=255).collect(),
            (0..200).map(|i| (i * 37 % 256) as u8).collect(),
        ],
        "request_validation" => {
            let mut seeds: Vec<Vec<u8>> = (0..9u8).map(|s| vec![s, 5, 1, 2, 3, 4, 5]).collect();
            let acquire = pb::AcquireRequest {
                session_id: 1,
                request_id: 1,
                name: "jobs/a".into(),
                wait: true,
                wait_timeout_ms: 1_000,
                lock_delay_ms: 10,
                ..Default::default()
            };
            seeds.push([9, 1].into_iter().chain(acquire.encode_to_vec()).collect());
            let release = pb::ReleaseRequest {
                session_id: 1,
                request_id: 2,
                name: "jobs/a".into(),
                owner_id: validate::owner_hex(42),
            };
            seeds.push([9, 2].into_iter().chain(release.encode_to_vec()).collect());
            seeds
        }
        _ => Vec::new(),
    }
}

fn log_id(term: u64, index: u64) -> LogId {
    crate::raft::log_id(term, 1, index)
}

fn sample_batch() -> Batch {
    Batch {
        time_ms: 1_000,
        commands: vec![
            Command::OpenSession {
                open_id: 1,
                ttl_ms: 10_000,
                label: "w".into(),
                principal: "p".into(),
            },
            Command::Acquire {
                session: 1,
                request: 1,
                name: "a".into(),
                mode: Mode::Exclusive,
                wait_ms: Some(5_000),
                lock_delay_ms: 100,
                owner: 7,
                value: String::new(),
            },
            Command::Tick,
        ],
    }
}

fn sample_membership() -> Membership<NodeId, BasicNode> {
    let nodes: std::collections::BTreeMap<NodeId, BasicNode> = (1..=3)
        .map(|id| {
            (
                id,
                BasicNode {
                    addr: format!("127.0.0.1:{}", 7000 + id),
                },
            )
        })
        .collect();
    Membership::new(vec![[1, 2, 3].into_iter().collect()], nodes).unwrap_or_default()
}

fn sample_records() -> Vec<Record> {
    vec![
        Record::Vote(Vote::new_committed(2, 1)),
        Record::Entry(Entry {
            log_id: log_id(1, 1),
            payload: EntryPayload::Membership(sample_membership()),
        }),
        Record::Entry(Entry {
            log_id: log_id(2, 2),
            payload: EntryPayload::Normal(sample_batch()),
        }),
        Record::Entry(Entry {
            log_id: log_id(2, 3),
            payload: EntryPayload::Blank,
        }),
        Record::Committed(Some(log_id(2, 2))),
        Record::Truncate(3),
        Record::Purged(log_id(1, 1)),
    ]
}

fn peer_seeds() -> Vec<Vec<u8>> {
    let vote = Vote::new_committed(2, 1);
    let append = AppendEntriesRequest::<TypeConfig> {
        vote,
        prev_log_id: Some(log_id(1, 1)),
        entries: vec![
            Entry {
                log_id: log_id(2, 2),
                payload: EntryPayload::Normal(sample_batch()),
            },
            Entry {
                log_id: log_id(2, 3),
                payload: EntryPayload::Membership(sample_membership()),
            },
            Entry {
                log_id: log_id(2, 4),
                payload: EntryPayload::Blank,
            },
        ],
        leader_commit: Some(log_id(2, 2)),
    };
    let chunk = SnapshotChunk {
        vote,
        meta: sample_meta(),
        offset: 0,
        data: sample_body(&sample_machine()),
        done: true,
    };
    type Answer<T> = Result<T, RaftError<TypeConfig>>;
    let stream_ok: Result<StreamAppendResult<TypeConfig>, Fatal<TypeConfig>> =
        Ok(Ok(Some(log_id(2, 4))));
    let stream_conflict: Result<StreamAppendResult<TypeConfig>, Fatal<TypeConfig>> =
        Ok(Err(StreamAppendError::Conflict(log_id(1, 1))));
    let payloads: Vec<(u8, Vec<u8>)> = vec![
        (0, to_bytes(&append)),
        (
            1,
            to_bytes(&VoteRequest::<TypeConfig>::new(vote, Some(log_id(1, 9)))),
        ),
        (2, to_bytes(&chunk)),
        (
            3,
            to_bytes(&Answer::Ok(AppendEntriesResponse::<TypeConfig>::Success)),
        ),
        (
            3,
            to_bytes(&Answer::Ok(
                AppendEntriesResponse::<TypeConfig>::HigherVote(vote),
            )),
        ),
        (
            3,
            to_bytes(&Answer::<AppendEntriesResponse<TypeConfig>>::Err(
                RaftError::Fatal(Fatal::Stopped),
            )),
        ),
        (
            4,
            to_bytes(&Answer::Ok(VoteResponse::<TypeConfig>::new(
                vote,
                Some(log_id(2, 4)),
                true,
            ))),
        ),
        (
            5,
            to_bytes(&Answer::Ok(Some(SnapshotResponse::<TypeConfig>::new(vote)))),
        ),
        (
            5,
            to_bytes(&Answer::<Option<SnapshotResponse<TypeConfig>>>::Ok(None)),
        ),
        (6, to_bytes(&stream_ok)),
        (6, to_bytes(&stream_conflict)),
    ];
    let mut seeds = Vec::new();
    for (kind, payload) in payloads {
        seeds.push([kind].into_iter().chain(payload.iter().copied()).collect());
        let envelope = RaftMessage { payload }.encode_to_vec();
        seeds.push([kind | 0x80].into_iter().chain(envelope).collect());
    }
    seeds
}

fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).unwrap_or_default()
}

fn wal_seeds() -> Vec<Vec<u8>> {
    let payloads: Vec<Vec<u8>> = sample_records().iter().map(to_bytes).collect();
    let mut v1 = wal::segment_header().to_vec();
    for p in &payloads {
        wal::frame(p, &mut v1);
    }
    let mut torn = v1.clone();
    let mut last = Vec::new();
    wal::frame(&payloads[0], &mut last);
    torn.extend_from_slice(&last[..last.len() - 3]);
    let mut v0 = Vec::new();
    for p in &payloads {
        frame_v0(p, &mut v0);
    }
    vec![v1, torn, v0]
}

fn sample_meta() -> Meta {
    Meta {
        last_log_id: Some(log_id(2, 9)),
        last_membership: StoredMembership::new(Some(log_id(1, 1)), sample_membership()),
    }
}

/// A machine holding a bit of everything: sessions, exclusive and shared
/// holders, waiters, a lock-delay, a checkpoint, a blacklisted session and
/// audit records.
fn sample_machine() -> Machine {
    let mut m = Machine::default();
    let open = |open_id: u128| Command::OpenSession {
        open_id,
        ttl_ms: 10_000,
        label: format!("s{open_id}"),
        principal: "p".into(),
    };
    let acquire = |session, request, name: &str, mode, wait_ms, owner| Command::Acquire {
        session,
        request,
        name: name.into(),
        mode,
        wait_ms,
        lock_delay_ms: 500,
        owner,
        value: String::new(),
    };
    let batches = vec![
        vec![open(1), open(2), open(3), open(4)],
        vec![
            acquire(1, 1, "a", Mode::Exclusive, None, 11),
            acquire(2, 1, "a", Mode::Exclusive, Some(60_000), 21),
            acquire(2, 2, "s", Mode::Shared, None, 22),
            acquire(3, 1, "s", Mode::Shared, None, 31),
            acquire(3, 2, "d", Mode::Exclusive, None, 32),
            Command::Checkpoint {
                session: 1,
                remaining_ms: 4_000,
            },
        ],
        vec![
            Command::ExpireSession { session: 3 },
            Command::Blacklist {
                session: 4,
                principal: "ops".into(),
                reason: "test".into(),
            },
            Command::Audit {
                action: crate::machine::DENIED.into(),
                principal: "q".into(),
                target: "a".into(),
                detail: "no lock permission".into(),
            },
        ],
    ];
    let mut events = Vec::new();
    for (i, commands) in batches.into_iter().enumerate() {
        m.apply(
            &Batch {
                time_ms: 1_000 + i as u64,
                commands,
            },
            &mut events,
        );
    }
    m
}

fn sample_body(m: &Machine) -> Vec<u8> {
    SnapshotBody {
        machine: m.clone(),
        membership: StoredMembership::new(Some(log_id(1, 1)), sample_membership()),
    }
    .encode()
    .unwrap_or_default()
}

fn snapshot_seeds() -> Vec<Vec<u8>> {
    let body = sample_body(&sample_machine());
    let v1 = snapshot::encode(&sample_meta(), &body).unwrap_or_default();
    let empty = snapshot::encode(&sample_meta(), &[]).unwrap_or_default();
    #[derive(Serialize)]
    struct Legacy<'a> {
        meta: &'a Meta,
        data: &'a [u8],
    }
    let record = to_bytes(&Legacy {
        meta: &sample_meta(),
        data: &body,
    });
    let mut legacy = u32::try_from(record.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes()
        .to_vec();
    legacy.extend_from_slice(&crc32fast::hash(&record).to_le_bytes());
    legacy.extend_from_slice(&record);
    // Framed mode (odd first byte, with an end frame): the metadata, then
    // the body in chunks of at most 255 bytes.
    let mut framed = vec![1 | 4];
    let mut frame = |kind: u8, payload: &[u8]| {
        framed.push(kind);
        framed.push(u8::try_from(payload.len()).unwrap_or(u8::MAX));
        framed.extend_from_slice(payload);
    };
    frame(1, &to_bytes(&sample_meta()));
    for chunk in body.chunks(255) {
        frame(2, chunk);
    }
    [v1, empty, legacy]
        .into_iter()
        .map(|file| [0].into_iter().chain(file).collect())
        .chain([framed])
        .collect()
}

#[cfg(test)]
mod tests {
    //! The seeds are what they claim: valid inputs that get past the first
    //! checks of their decoders.

    use super::*;

    #[test]
    fn every_target_has_seeds_and_runs_them() {
        for t in TARGETS {
            let seeds = seeds(t.name);
            assert!(!seeds.is_empty(), "{} has no seeds", t.name);
            for s in &seeds {
                (t.run)(s);
            }
        }
    }

    #[test]
    fn seeds_are_valid_encodings() {
        for s in seeds("wal_segment") {
            let parsed = wal::parse(Path::new("s"), &s).expect("parses");
            assert!(!parsed.records.is_empty());
            for r in &parsed.records {
                log::decode_record(r).expect("a record");
            }
        }
        for s in seeds("snapshot_file") {
            let bytes = if s[0] & 1 == 0 {
                s[1..].to_vec()
            } else {
                framed_snapshot(s[0], &s[1..])
            };
            let file = snapshot::decode(&bytes, Path::new("s")).expect("a snapshot");
            if !file.body.is_empty() {
                SnapshotBody::decode(&file.body).expect("a state");
            }
        }
        for s in seeds("snapshot_body") {
            SnapshotBody::decode(&s).expect("a state");
        }
        for s in seeds("access_file") {
            Access::parse(std::str::from_utf8(&s).expect("utf-8")).expect("an access file");
        }
        let peer = seeds("peer_message");
        assert_eq!(peer.len(), 22);
        for s in peer.iter().filter(|s| s[0] & 0x80 == 0) {
            let ok = match s[0] {
                0 => {
                    crate::raft::decode_request::<AppendEntriesRequest<TypeConfig>>(&s[1..]).is_ok()
                }
                1 => crate::raft::decode_request::<VoteRequest<TypeConfig>>(&s[1..]).is_ok(),
                2 => crate::raft::decode_request::<SnapshotChunk>(&s[1..]).is_ok(),
                _ => true,
            };
            assert!(ok, "peer seed of kind {} does not decode", s[0]);
        }
        let m = sample_machine();
        assert!(!m.locks().is_empty() && m.next_timer_ms().is_some());
    }
}
