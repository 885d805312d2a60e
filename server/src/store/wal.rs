//! A segmented write-ahead log of checksummed records.
//!
//! Format version 1. A segment starts with `[b"TNWL"][version: u32 LE]`, then
//! frames `[FRAME_MAGIC: u32 LE][len: u32 LE][crc32(len ++ payload): u32 LE][payload]`.
//! Appends go to the newest segment; `sync` makes them durable with one
//! `fdatasync`. Segments are named by a sequence number, so the owner can delete
//! whole old segments once nothing in them is needed.
//!
//! Recovery reads every segment in order. The only damage it repairs by itself
//! is a torn tail: a bad frame in the newest segment with no valid frame after
//! it (an incomplete final frame, a zero-filled or garbage tail). Anything else
//! (a bad frame with valid frames after it, any bad frame in an older segment, a
//! segment of a newer format) is reported with the file and byte offset and the
//! node does not start; `tenure repair` is the operator's way out ([`repair`]).
//!
//! Version 0 segments (no header, frames `[len][crc32(payload)][payload]`) are
//! still read, so a node upgrades in place; the next segment is written as v1.
//!
//! Preallocation: a segment can be created zero-filled to its full size (and
//! fsynced), then written in place. An `fdatasync` then has no file size or
//! extent change to commit to the filesystem journal, only data, which makes
//! it several times faster. A tail of zeros after the last valid frame is
//! therefore the normal state of a segment, in any segment, never damage. The
//! next segment is prepared (zero-filled) in the background ahead of need.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use super::faults::DiskFaults;
use crate::controls::{self, Control};

/// The segment format this build writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 1;
const SEGMENT_MAGIC: [u8; 4] = *b"TNWL";
const SEGMENT_HEADER: usize = 8;
/// The first four bytes of every format-1 frame ("TFRM" little-endian).
pub const FRAME_MAGIC: u32 = 0x4D52_4654;
const FRAME_HEADER: usize = 12;
const V0_FRAME_HEADER: usize = 8;
/// Largest record accepted (a frame with a larger length is treated as corrupt).
pub const MAX_RECORD: usize = 64 << 20;
/// The zero-filled spare segment being prepared for the next rotation.
const SPARE: &str = "spare.zeroed";

/// The newest segment, open for appends.
pub struct Wal {
    dir: PathBuf,
    file: File,
    seq: u64,
    len: u64,
    /// Format version of the current segment (older only until the next rotation).
    version: u32,
    faults: DiskFaults,
    /// Size new segments are zero-filled to (0: not preallocated).
    preallocate: u64,
    /// The spare segment being zero-filled for the next rotation.
    spare: Option<JoinHandle<io::Result<PathBuf>>>,
}

/// What `Wal::open` found on disk.
pub struct Recovered {
    /// Payloads per segment, oldest segment first: (sequence number, records).
    pub segments: Vec<(u64, Vec<Vec<u8>>)>,
    /// Bytes cut off the tail of the newest segment (a torn write), if any.
    pub truncated_bytes: u64,
}

/// Where a segment is damaged beyond what recovery repairs by itself.
#[derive(Debug, thiserror::Error)]
pub enum Damage {
    /// A bad frame with valid data after it, or in an older segment.
    #[error(
        "{path}: corrupt frame at byte {offset} ({why}); the node will not start (see `tenure repair --help`)"
    )]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte offset of the first bad frame.
        offset: u64,
        /// Why this is not a torn tail.
        why: &'static str,
    },
    /// A segment written by a newer version of tenure.
    #[error(
        "{path}: write-ahead log format version {found}, but this build reads at most version {FORMAT_VERSION}; run the newer tenure"
    )]
    NewerFormat {
        /// The segment file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
}

impl From<Damage> for io::Error {
    fn from(d: Damage) -> io::Error {
        io::Error::new(ErrorKind::InvalidData, d)
    }
}

/// The file of segment `seq` in `dir`.
pub(crate) fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016}.wal"))
}

fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut seqs = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".wal")) else {
            continue;
        };
        if let Ok(seq) = stem.parse::<u64>() {
            seqs.push(seq);
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// Adds `path` to an I/O error, so the one log line names the file.
pub fn at(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// The header of a segment of the current format.
pub(crate) fn segment_header() -> [u8; SEGMENT_HEADER] {
    let mut h = [0; SEGMENT_HEADER];
    h[..4].copy_from_slice(&SEGMENT_MAGIC);
    h[4..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn frame_crc(len: u32, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Encodes one record into its frame, appended to `out`.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&frame_crc(len, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Decodes the first frame of `bytes`: its payload and the bytes after it, or
/// None if it is short, not a frame, or fails its checksum.
pub fn unframe(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    if u32_at(bytes, 0)? != FRAME_MAGIC {
        return None;
    }
    let len = u32_at(bytes, 4)?;
    let crc = u32_at(bytes, 8)?;
    let size = usize::try_from(len).ok().filter(|&l| l <= MAX_RECORD)?;
    let end = FRAME_HEADER.checked_add(size)?;
    let payload = bytes.get(FRAME_HEADER..end)?;
    (frame_crc(len, payload) == crc).then(|| (payload, &bytes[end..]))
}

/// A version 0 frame: `[len][crc32(payload)][payload]`; empty records (what a
/// zero-filled tail would parse as) are never valid.
fn unframe_v0(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = usize::try_from(u32_at(bytes, 0)?).ok()?;
    let crc = u32_at(bytes, 4)?;
    if len == 0 || len > MAX_RECORD {
        return None;
    }
    let end = V0_FRAME_HEADER.checked_add(len)?;
    let payload = bytes.get(V0_FRAME_HEADER..end)?;
    (crc32fast::hash(payload) == crc).then(|| (payload, &bytes[end..]))
}

/// Decodes one frame: its payload and the bytes after it.
type Decoder = fn(&[u8]) -> Option<(&[u8], &[u8])>;

/// One segment as read from disk.
pub(crate) struct Parsed {
    /// Its format version.
    pub(crate) version: u32,
    /// The payloads of its valid frames, in order.
    pub(crate) records: Vec<Vec<u8>>,
    /// Length of the valid prefix (header included).
    pub(crate) valid: usize,
    /// Whether every byte after the valid prefix is zero (a preallocated
    /// segment's unused space: not damage).
    pub(crate) zero_tail: bool,
    /// Whether a valid frame follows the first bad one (so it is not a torn tail).
    pub(crate) valid_after: bool,
}

/// Parses the bytes of one segment file (`path` is used in errors).
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<Parsed, Damage> {
    let (version, start, decode): (u32, usize, Decoder) =
        if bytes.get(..4) == Some(&SEGMENT_MAGIC[..]) {
            let Some(version) = u32_at(bytes, 4) else {
                // A header cut short: nothing in this segment was ever written.
                return Ok(Parsed {
                    version: FORMAT_VERSION,
                    records: Vec::new(),
                    valid: 0,
                    zero_tail: false,
                    valid_after: false,
                });
            };
            (version, SEGMENT_HEADER, unframe)
        } else {
            (0, 0, unframe_v0)
        };
    if version > FORMAT_VERSION {
        return Err(Damage::NewerFormat {
            path: path.to_owned(),
            found: version,
        });
    }
    let mut records = Vec::new();
    let mut rest = bytes.get(start..).unwrap_or_default();
    while let Some((payload, after)) = decode(rest) {
        records.push(payload.to_vec());
        rest = after;
    }
    let valid = bytes.len() - rest.len();
    // A v1 segment that has frames, or at least its header, may be followed by
    // its preallocated zeros. (A v0 segment, or a header cut short, never is.)
    let zero_tail = version >= 1 && valid >= SEGMENT_HEADER && rest.iter().all(|&b| b == 0);
    // v1 frames carry a magic, so a later valid frame can be found; v0 cannot
    // tell, and keeps its old rule (a bad frame in the newest segment is torn).
    let valid_after =
        version >= 1 && (valid + 1..bytes.len()).any(|p| unframe(&bytes[p..]).is_some());
    Ok(Parsed {
        version,
        records,
        valid,
        zero_tail,
        valid_after,
    })
}

impl Parsed {
    /// Whether bytes after the valid prefix are not just preallocated zeros.
    pub(crate) fn damaged(&self, len: usize) -> bool {
        self.valid < len && !self.zero_tail
    }
}

fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| at(path, "cannot read", e))?;
    Ok(bytes)
}

/// fsyncs a directory, so a file created, renamed or removed in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| at(dir, "cannot sync directory", e))
}

/// Creates `dir` (and missing parents) durably: each new directory's parent is fsynced.
pub fn create_dir_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durable(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(at(dir, "cannot create", e)),
    }
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Writes a new segment holding `header` records: temp file, fsync, rename,
/// fsync of the directory, so a segment on disk always has its whole header.
/// The temp file is `spare` (already zero-filled) when given, else a new file
/// zero-filled here to `preallocate` bytes. Returns the file positioned after
/// the records.
fn create_segment(
    dir: &Path,
    seq: u64,
    records: &[u8],
    faults: &DiskFaults,
    spare: Option<PathBuf>,
    preallocate: u64,
) -> io::Result<File> {
    let path = segment_path(dir, seq);
    let tmp = match spare {
        Some(spare) => spare,
        None => {
            let tmp = path.with_extension("tmp");
            zero_fill(&tmp, preallocate)?;
            tmp
        }
    };
    let mut bytes = segment_header().to_vec();
    bytes.extend_from_slice(records);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .open(&tmp)
            .map_err(|e| at(&tmp, "cannot open", e))?;
        faults
            .write(&mut f, &bytes)
            .map_err(|e| at(&tmp, "cannot write", e))?;
        faults
            .sync(&f, true)
            .map_err(|e| at(&tmp, "cannot sync", e))?;
    }
    fs::rename(&tmp, &path).map_err(|e| at(&path, "cannot rename into", e))?;
    sync_dir(dir)?;
    open_at(&path, bytes.len() as u64)
}

/// Creates `path` holding `len` zero bytes, written out and fsynced (not a
/// sparse file: its blocks are allocated and initialised, so writing over them
/// later changes no metadata).
fn zero_fill(path: &Path, len: u64) -> io::Result<()> {
    let mut f = File::create(path).map_err(|e| at(path, "cannot create", e))?;
    write_zeros(&mut f, len).map_err(|e| at(path, "cannot preallocate", e))?;
    f.sync_all().map_err(|e| at(path, "cannot sync", e))
}

/// Writes `len` zero bytes at `f`'s position, a megabyte at a time.
fn write_zeros(f: &mut File, len: u64) -> io::Result<()> {
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX).min(1 << 20)];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Opens segment `path` for writing at byte `offset`.
fn open_at(path: &Path, offset: u64) -> io::Result<File> {
    let mut f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| at(path, "cannot open", e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| at(path, "cannot seek", e))?;
    Ok(f)
}

/// Starts zero-filling the spare segment of `dir` in the background.
fn prepare_spare(dir: &Path, len: u64) -> Option<JoinHandle<io::Result<PathBuf>>> {
    if len == 0 {
        return None;
    }
    let path = dir.join(SPARE);
    std::thread::Builder::new()
        .name("tenure-wal-spare".into())
        .spawn(move || zero_fill(&path, len).map(|()| path))
        .ok()
}

impl Wal {
    /// Opens (or creates) the log in `dir`, repairing a torn tail.
    pub fn open(dir: &Path) -> io::Result<(Wal, Recovered)> {
        Wal::open_with(dir, DiskFaults::from_env()?)
    }

    /// [`Wal::open`] with the given fault injector, without preallocation (tests).
    pub fn open_with(dir: &Path, faults: DiskFaults) -> io::Result<(Wal, Recovered)> {
        Wal::open_preallocated(dir, faults, 0)
    }

    /// Opens the log in `dir`; new segments are zero-filled to `preallocate`
    /// bytes (0: not at all).
    pub fn open_preallocated(
        dir: &Path,
        faults: DiskFaults,
        preallocate: u64,
    ) -> io::Result<(Wal, Recovered)> {
        create_dir_durable(dir)?;
        // A spare a crash left half made is made again.
        let spare = dir.join(SPARE);
        if spare.exists() {
            fs::remove_file(&spare).map_err(|e| at(&spare, "cannot remove", e))?;
        }
        let seqs = list_segments(dir).map_err(|e| at(dir, "cannot list", e))?;
        let mut segments = Vec::with_capacity(seqs.len());
        let mut truncated_bytes = 0;
        let mut version = FORMAT_VERSION;
        let mut newest_len = 0;
        for (i, &seq) in seqs.iter().enumerate() {
            let path = segment_path(dir, seq);
            let bytes = read_file(&path)?;
            let parsed = parse(&path, &bytes)?;
            let newest = i + 1 == seqs.len();
            if parsed.damaged(bytes.len()) {
                let why = match (newest, parsed.valid_after) {
                    (false, _) => Some("in an older segment"),
                    (true, true) => Some("valid frames follow it"),
                    (true, false) => None,
                };
                if let Some(why) = why {
                    return Err(Damage::Corrupt {
                        path,
                        offset: parsed.valid as u64,
                        why,
                    }
                    .into());
                }
                if parsed.version >= 1 {
                    // The torn bytes become zeros (keeping a preallocated
                    // file's size); appends go on from the end of the frames.
                    let torn_end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                    truncated_bytes = torn_end.saturating_sub(parsed.valid) as u64;
                    zero_range(&path, parsed.valid as u64, torn_end as u64)?;
                } else {
                    // A v0 segment is never preallocated: cut the tail off.
                    truncated_bytes = (bytes.len() - parsed.valid) as u64;
                    truncate(&path, parsed.valid as u64)?;
                }
            }
            version = parsed.version;
            // What is left of the segment: its valid prefix (the rest was cut).
            newest_len = parsed.valid as u64;
            segments.push((seq, parsed.records));
        }
        let (file, seq, len) = match seqs.last() {
            Some(&seq) if newest_len > 0 => {
                let file = open_at(&segment_path(dir, seq), newest_len)?;
                (file, seq, newest_len)
            }
            // No segment yet (or an empty newest one): start with a whole header.
            last => {
                let seq = last.copied().unwrap_or(1);
                version = FORMAT_VERSION;
                let file = create_segment(dir, seq, &[], &faults, None, preallocate)?;
                (file, seq, SEGMENT_HEADER as u64)
            }
        };
        let wal = Wal {
            dir: dir.to_owned(),
            file,
            seq,
            len,
            version,
            faults,
            preallocate,
            spare: prepare_spare(dir, preallocate),
        };
        Ok((
            wal,
            Recovered {
                segments,
                truncated_bytes,
            },
        ))
    }

    /// Whether the current segment is of an older format (the owner should rotate).
    pub fn is_old_format(&self) -> bool {
        self.version < FORMAT_VERSION
    }

    /// Sequence number of the segment now being appended to.
    pub fn current_segment(&self) -> u64 {
        self.seq
    }

    /// Bytes in the current segment.
    pub fn current_len(&self) -> u64 {
        self.len
    }

    fn current_path(&self) -> PathBuf {
        segment_path(&self.dir, self.seq)
    }

    /// Appends already framed bytes (see [`frame`]); durable only after [`Wal::sync`].
    pub fn write(&mut self, framed: &[u8]) -> io::Result<()> {
        self.faults
            .write(&mut self.file, framed)
            .map_err(|e| at(&self.current_path(), "cannot write", e))?;
        self.len += framed.len() as u64;
        Ok(())
    }

    /// Makes every write so far durable.
    pub fn sync(&mut self) -> io::Result<()> {
        if controls::active(Control::SkipFsync) {
            return Ok(());
        }
        self.faults
            .sync(&self.file, false)
            .map_err(|e| at(&self.current_path(), "cannot sync", e))
    }

    /// Syncs the current segment and starts a new one beginning with `header`
    /// (framed records restating whatever older segments hold that is still needed).
    pub fn rotate(&mut self, header: &[u8]) -> io::Result<()> {
        self.sync()?;
        let seq = self.seq + 1;
        // The spare, if it was made; else the segment is zero-filled now.
        let spare = match self.spare.take().map(JoinHandle::join) {
            Some(Ok(Ok(path))) => Some(path),
            Some(Ok(Err(e))) => {
                tracing::warn!(error = %e, "the spare log segment could not be made");
                None
            }
            _ => None,
        };
        self.file = create_segment(
            &self.dir,
            seq,
            header,
            &self.faults,
            spare,
            self.preallocate,
        )?;
        self.spare = prepare_spare(&self.dir, self.preallocate);
        self.seq = seq;
        self.len = (SEGMENT_HEADER + header.len()) as u64;
        self.version = FORMAT_VERSION;
        Ok(())
    }

    /// Deletes every segment older than `seq` (never the current one).
    pub fn remove_before(&mut self, seq: u64) -> io::Result<()> {
        let limit = seq.min(self.seq);
        for old in list_segments(&self.dir).map_err(|e| at(&self.dir, "cannot list", e))? {
            if old < limit {
                let path = segment_path(&self.dir, old);
                fs::remove_file(&path).map_err(|e| at(&path, "cannot remove", e))?;
            }
        }
        sync_dir(&self.dir)
    }
}

/// Overwrites bytes `from..to` of `path` with zeros, durably.
fn zero_range(path: &Path, from: u64, to: u64) -> io::Result<()> {
    if to <= from {
        return Ok(());
    }
    let mut f = open_at(path, from)?;
    write_zeros(&mut f, to - from).map_err(|e| at(path, "cannot clear the torn tail of", e))?;
    f.sync_all().map_err(|e| at(path, "cannot sync", e))
}

fn truncate(path: &Path, len: u64) -> io::Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| at(path, "cannot open", e))?;
    f.set_len(len)
        .and_then(|()| f.sync_all())
        .map_err(|e| at(path, "cannot truncate", e))
}

/// What [`repair`] found (and, unless it was a dry run, did).
#[derive(Debug, Default)]
pub struct RepairReport {
    /// Each segment cut: (file, valid bytes kept, bytes cut).
    pub cut: Vec<(PathBuf, u64, u64)>,
    /// Whole segments after the damage, moved aside.
    pub moved: Vec<PathBuf>,
    /// Where the cut bytes and moved segments were saved.
    pub saved_in: Option<PathBuf>,
}

/// `tenure repair`: cuts the log at its first bad frame, wherever it is, and
/// moves every later segment aside (into `dir/repair-<unix seconds>/`, with the
/// cut bytes), so the node can start. What was cut may include acknowledged
/// entries and votes: see docs/design.md ("Storage rules") before using it.
pub fn repair(dir: &Path, dry_run: bool) -> io::Result<RepairReport> {
    let seqs = list_segments(dir).map_err(|e| at(dir, "cannot list", e))?;
    let mut report = RepairReport::default();
    let Some(bad) = seqs.iter().position(|&seq| {
        let path = segment_path(dir, seq);
        match read_file(&path).map(|b| parse(&path, &b).map(|p| p.damaged(b.len()))) {
            Ok(Ok(damaged)) => damaged,
            _ => true,
        }
    }) else {
        return Ok(report);
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let aside = dir.join(format!("repair-{stamp}"));
    let path = segment_path(dir, seqs[bad]);
    let bytes = read_file(&path)?;
    let parsed = parse(&path, &bytes)?;
    report.cut.push((
        path.clone(),
        parsed.valid as u64,
        (bytes.len() - parsed.valid) as u64,
    ));
    report.moved = seqs[bad + 1..]
        .iter()
        .map(|&s| segment_path(dir, s))
        .collect();
    report.saved_in = Some(aside.clone());
    if dry_run {
        return Ok(report);
    }
    create_dir_durable(&aside)?;
    let tail = aside.join(format!("{:016}.cut", seqs[bad]));
    fs::write(&tail, &bytes[parsed.valid..]).map_err(|e| at(&tail, "cannot write", e))?;
    for moved in &report.moved {
        let to = aside.join(moved.file_name().unwrap_or_default());
        fs::rename(moved, &to).map_err(|e| at(moved, "cannot move", e))?;
    }
    sync_dir(&aside)?;
    truncate(&path, parsed.valid as u64)?;
    sync_dir(dir)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::faults::DiskFault;

    fn framed(records: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            frame(r, &mut out);
        }
        out
    }

    fn open(dir: &Path) -> io::Result<(Wal, Recovered)> {
        Wal::open_with(dir, DiskFaults::none())
    }

    fn reopen_records(dir: &Path) -> Vec<Vec<u8>> {
        let (_, rec) = open(dir).expect("reopen");
        rec.segments.into_iter().flat_map(|(_, r)| r).collect()
    }

    #[test]
    fn records_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, rec) = open(dir.path()).expect("open");
        assert!(rec.segments.iter().all(|(_, r)| r.is_empty()));
        wal.write(&framed(&[b"one", b"two"])).expect("write");
        wal.sync().expect("sync");
        drop(wal);
        let (_, rec) = open(dir.path()).expect("reopen");
        assert_eq!(rec.segments[0].1, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(rec.truncated_bytes, 0);
    }

    #[test]
    fn torn_tail_is_cut_off_and_appends_continue() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = open(dir.path()).expect("open");
        wal.write(&framed(&[b"kept"])).expect("write");
        let torn = framed(&[b"torn record"]);
        wal.write(&torn[..torn.len() - 3]).expect("write");
        wal.sync().expect("sync");
        drop(wal);
        let (mut wal, rec) = open(dir.path()).expect("reopen");
        assert_eq!(rec.segments[0].1, vec![b"kept".to_vec()]);
        assert_eq!(rec.truncated_bytes, (torn.len() - 3) as u64);
        wal.write(&framed(&[b"after"])).expect("write");
        wal.sync().expect("sync");
        drop(wal);
        assert_eq!(
            reopen_records(dir.path()),
            vec![b"kept".to_vec(), b"after".to_vec()]
        );
    }

    #[test]
    fn zero_filled_tail_is_unused_space_not_empty_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = open(dir.path()).expect("open");
        wal.write(&framed(&[b"kept"])).expect("write");
        wal.write(&[0; 4096]).expect("write");
        wal.sync().expect("sync");
        drop(wal);
        let (mut wal, rec) = open(dir.path()).expect("reopen");
        assert_eq!(rec.segments[0].1, vec![b"kept".to_vec()]);
        assert_eq!(rec.truncated_bytes, 0, "zeros are not a torn write");
        wal.write(&framed(&[b"after"]))
            .expect("write over the zeros");
        wal.sync().expect("sync");
        drop(wal);
        assert_eq!(
            reopen_records(dir.path()),
            vec![b"kept".to_vec(), b"after".to_vec()]
        );
    }

    fn preallocated(dir: &Path) -> (Wal, Recovered) {
        Wal::open_preallocated(dir, DiskFaults::none(), 64 << 10).expect("open")
    }

    #[test]
    fn preallocated_segments_are_written_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = preallocated(dir.path());
        let path = segment_path(dir.path(), 1);
        assert_eq!(fs::metadata(&path).expect("stat").len(), 64 << 10);
        wal.write(&framed(&[b"one", b"two"])).expect("write");
        wal.sync().expect("sync");
        assert_eq!(fs::metadata(&path).expect("stat").len(), 64 << 10);
        // A torn write: its bytes become zeros, the size stays, appends go on.
        let torn = framed(&[b"torn record"]);
        wal.write(&torn[..torn.len() - 3]).expect("write");
        wal.sync().expect("sync");
        drop(wal);
        let (mut wal, rec) = preallocated(dir.path());
        assert_eq!(rec.segments[0].1, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(rec.truncated_bytes, (torn.len() - 3) as u64);
        assert_eq!(fs::metadata(&path).expect("stat").len(), 64 << 10);
        wal.write(&framed(&[b"three"])).expect("write");
        // The spare made in the background becomes the next segment.
        wal.rotate(&framed(&[b"header"])).expect("rotate");
        wal.write(&framed(&[b"four"])).expect("write");
        wal.sync().expect("sync");
        let next = segment_path(dir.path(), 2);
        assert_eq!(fs::metadata(&next).expect("stat").len(), 64 << 10);
        drop(wal);
        assert_eq!(
            reopen_records(dir.path()),
            [&b"one"[..], b"two", b"three", b"header", b"four"]
                .map(|r| r.to_vec())
                .to_vec()
        );
    }

    /// Writes three records with `wal`, then flips a byte of the second one's
    /// body on disk: returns the segment's path, its bytes now, and the
    /// offset of the damaged frame.
    fn damage_second_of_three(dir: &Path, mut wal: Wal) -> (PathBuf, Vec<u8>, usize) {
        wal.write(&framed(&[b"first", b"second", b"third"]))
            .expect("write");
        wal.sync().expect("sync");
        drop(wal);
        let path = segment_path(dir, 1);
        let mut bytes = fs::read(&path).expect("read");
        let second = SEGMENT_HEADER + FRAME_HEADER + 5;
        bytes[second + FRAME_HEADER] ^= 0xff;
        fs::write(&path, &bytes).expect("write");
        (path, bytes, second)
    }

    #[test]
    fn damage_before_valid_frames_is_found_in_a_preallocated_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = preallocated(dir.path());
        let (_, _, second) = damage_second_of_three(dir.path(), wal);
        let err = open(dir.path()).err().expect("must refuse to open");
        assert!(err.to_string().contains(&format!("byte {second}")), "{err}");
        // And in an older segment, zeros after the frames are no damage.
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = preallocated(dir.path());
        wal.write(&framed(&[b"a"])).expect("write");
        wal.rotate(&framed(&[b"b"])).expect("rotate");
        drop(wal);
        assert_eq!(
            reopen_records(dir.path()),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
    }

    #[test]
    fn v0_zero_tail_is_not_parsed_as_empty_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = Vec::new();
        let payload = b"old format";
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        bytes.extend_from_slice(payload);
        bytes.extend_from_slice(&[0; 64]);
        fs::write(segment_path(dir.path(), 1), &bytes).expect("write");
        let (mut wal, rec) = open(dir.path()).expect("open v0");
        assert_eq!(rec.segments[0].1, vec![payload.to_vec()]);
        assert_eq!(rec.truncated_bytes, 64);
        assert!(wal.is_old_format());
        wal.rotate(&framed(&[b"restated"])).expect("rotate");
        wal.write(&framed(&[b"new"])).expect("write");
        wal.sync().expect("sync");
        assert!(!wal.is_old_format());
        drop(wal);
        assert_eq!(
            reopen_records(dir.path()),
            vec![payload.to_vec(), b"restated".to_vec(), b"new".to_vec()]
        );
    }

    #[test]
    fn flipped_bit_in_last_frame_is_a_torn_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = open(dir.path()).expect("open");
        wal.write(&framed(&[b"good", b"flipped"])).expect("write");
        wal.sync().expect("sync");
        drop(wal);
        let path = segment_path(dir.path(), 1);
        let mut bytes = fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).expect("write");
        assert_eq!(reopen_records(dir.path()), vec![b"good".to_vec()]);
    }

    #[test]
    fn corruption_before_valid_frames_is_an_error_naming_file_and_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = open(dir.path()).expect("open");
        let (path, bytes, second) = damage_second_of_three(dir.path(), wal);
        let err = open(dir.path()).err().expect("must refuse to open");
        let text = err.to_string();
        assert!(text.contains("0000000000000001.wal"), "{text}");
        assert!(text.contains(&format!("byte {second}")), "{text}");
        // Nothing was cut: the file is as it was.
        assert_eq!(fs::read(&path).expect("read"), bytes);

        let report = repair(dir.path(), true).expect("dry run");
        assert_eq!(report.cut[0].1, second as u64);
        assert_eq!(fs::read(&path).expect("read"), bytes);
        repair(dir.path(), false).expect("repair");
        assert_eq!(reopen_records(dir.path()), vec![b"first".to_vec()]);
    }

    #[test]
    fn corruption_in_an_older_segment_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = open(dir.path()).expect("open");
        wal.write(&framed(&[b"a", b"b"])).expect("write");
        wal.rotate(&framed(&[b"header"])).expect("rotate");
        drop(wal);
        let path = segment_path(dir.path(), 1);
        let mut bytes = fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, &bytes).expect("write");
        let err = open(dir.path()).err().expect("must refuse");
        assert!(err.to_string().contains("older segment"), "{err}");
        let report = repair(dir.path(), false).expect("repair");
        assert_eq!(report.moved.len(), 1);
        assert_eq!(reopen_records(dir.path()), vec![b"a".to_vec()]);
    }

    #[test]
    fn a_newer_format_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = SEGMENT_MAGIC.to_vec();
        bytes.extend_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        fs::write(segment_path(dir.path(), 1), &bytes).expect("write");
        let err = open(dir.path()).err().expect("must refuse");
        assert!(err.to_string().contains("format version 2"), "{err}");
    }

    #[test]
    fn rotate_and_remove_old_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = open(dir.path()).expect("open");
        wal.write(&framed(&[b"old"])).expect("write");
        wal.rotate(&framed(&[b"header"])).expect("rotate");
        wal.write(&framed(&[b"new"])).expect("write");
        wal.sync().expect("sync");
        wal.remove_before(2).expect("remove");
        drop(wal);
        let (_, rec) = open(dir.path()).expect("reopen");
        assert_eq!(rec.segments.len(), 1);
        assert_eq!(
            rec.segments[0],
            (2, vec![b"header".to_vec(), b"new".to_vec()])
        );
    }

    #[test]
    fn injected_faults_fail_the_operation() {
        for (fault, op) in [
            (DiskFault::WriteError, "write"),
            (DiskFault::PartialWrite, "write"),
            (DiskFault::NoSpace, "write"),
            (DiskFault::FsyncError, "sync"),
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            let (mut wal, _) = Wal::open_with(dir.path(), DiskFaults::at(fault, 2)).expect("open");
            let one = framed(&[b"one"]);
            let result = (|| {
                for _ in 0..3 {
                    wal.write(&one)?;
                    wal.sync()?;
                }
                Ok::<(), io::Error>(())
            })();
            let err = result.expect_err("the fault must fire");
            assert!(err.to_string().contains(&format!("cannot {op}")), "{err}");
            assert!(err.to_string().contains(".wal"), "{err}");
        }
    }
}
