//! The snapshot file format: a versioned header, the snapshot's metadata, the
//! body in checksummed chunks, and an end frame that makes a truncated file
//! detectable. There is no size cap: the body is any number of chunks.
//!
//! ```text
//! header  "TENURESN" (8 bytes) | format version (u32 LE)
//! frame   kind (u8) | len (u32 LE) | crc32 of kind, len and payload (u32 LE) | payload
//!         kind 1 META   postcard of the openraft SnapshotMeta (exactly once, first)
//!         kind 2 CHUNK  1..=CHUNK_BYTES bytes of the body (any number)
//!         kind 3 END    body length (u64 LE) | crc32 of the whole body (u32 LE); last
//! ```
//!
//! Version rule: a reader accepts every version up to [`FORMAT_VERSION`] and
//! refuses a newer one with [`SnapshotError::NewerVersion`]. Version 0 is the
//! unversioned file of earlier releases (one `[len][crc][postcard]` record of
//! at most 64 MiB); it is read, never written.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The first bytes of every versioned snapshot file.
pub const MAGIC: [u8; 8] = *b"TENURESN";
/// The format version this build writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 1;
/// Body bytes per chunk frame written.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Largest frame payload a reader accepts, so that a corrupt length cannot make
/// it allocate without bound (a per-frame sanity limit, not a snapshot size cap).
const MAX_FRAME_BYTES: usize = 64 << 20;
/// Largest legacy (version 0) record, as earlier releases capped it.
const LEGACY_MAX_RECORD: usize = 64 << 20;

const KIND_META: u8 = 1;
const KIND_CHUNK: u8 = 2;
const KIND_END: u8 = 3;
const FRAME_HEADER: usize = 9;

/// openraft's metadata of a snapshot.
pub use crate::raft::Meta;

/// A snapshot read back from a file.
#[derive(Debug)]
pub struct SnapshotFile {
    /// Its metadata (last log id, membership, id).
    pub meta: Meta,
    /// The body (the serialized state).
    pub body: Vec<u8>,
    /// The format version the file was written in.
    pub version: u32,
}

/// Why a snapshot file cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file system failed.
    #[error("snapshot {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// Written by a newer, incompatible tenure.
    #[error(
        "snapshot {} has format version {found}, newer than this tenure reads (up to version {supported}): run a tenure release that knows version {found}",
        path.display()
    )]
    NewerVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A frame fails its checksum or does not belong where it is.
    #[error("snapshot {} is corrupt at byte {offset}: {what}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the bad frame starts.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The file ends before its end frame.
    #[error("snapshot {} is truncated: it ends at byte {offset}, before its end frame", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Its length.
        offset: u64,
    },
}

impl SnapshotError {
    /// As an `io::Error` (for callers that speak io), keeping the message.
    pub fn into_io(self) -> io::Error {
        match self {
            SnapshotError::Io { source, .. } => source,
            other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
        }
    }
}

fn frame_crc(kind: u8, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[kind]);
    hasher.update(&(payload.len() as u32).to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// Writes a snapshot file to any byte sink, streaming the body in chunks.
pub struct Writer<W: Write> {
    out: W,
    body_len: u64,
    body_crc: crc32fast::Hasher,
}

impl<W: Write> Writer<W> {
    /// Starts a file: the header and the metadata frame.
    pub fn start(mut out: W, meta: &Meta) -> io::Result<Self> {
        out.write_all(&MAGIC)?;
        out.write_all(&FORMAT_VERSION.to_le_bytes())?;
        let meta = postcard::to_stdvec(meta).map_err(io::Error::other)?;
        let mut writer = Writer {
            out,
            body_len: 0,
            body_crc: crc32fast::Hasher::new(),
        };
        writer.frame(KIND_META, &meta)?;
        Ok(writer)
    }

    fn frame(&mut self, kind: u8, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len()).map_err(io::Error::other)?;
        self.out.write_all(&[kind])?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out
            .write_all(&frame_crc(kind, payload).to_le_bytes())?;
        self.out.write_all(payload)
    }

    /// Appends body bytes (split into chunk frames).
    pub fn body(&mut self, bytes: &[u8]) -> io::Result<()> {
        for chunk in bytes.chunks(CHUNK_BYTES) {
            self.frame(KIND_CHUNK, chunk)?;
            self.body_crc.update(chunk);
            self.body_len += chunk.len() as u64;
        }
        Ok(())
    }

    /// Writes the end frame; returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        let mut end = Vec::with_capacity(12);
        end.extend_from_slice(&self.body_len.to_le_bytes());
        end.extend_from_slice(&self.body_crc.clone().finalize().to_le_bytes());
        self.frame(KIND_END, &end)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Encodes a whole snapshot file in memory.
pub fn encode(meta: &Meta, body: &[u8]) -> io::Result<Vec<u8>> {
    let mut writer = Writer::start(Vec::with_capacity(body.len() + 4096), meta)?;
    writer.body(body)?;
    writer.finish()
}

/// Writes a snapshot file at `path` (created or truncated) and fsyncs it.
pub fn write(path: &Path, meta: &Meta, body: &[u8]) -> Result<(), SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::create(path).map_err(io)?;
    let mut writer = Writer::start(BufWriter::new(file), meta).map_err(io)?;
    writer.body(body).map_err(io)?;
    let file = writer
        .finish()
        .map_err(io)?
        .into_inner()
        .map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)
}

/// Reads the snapshot file at `path`, verifying every checksum; None if there
/// is no file.
pub fn read(path: &Path) -> Result<Option<SnapshotFile>, SnapshotError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SnapshotError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    Reader::new(BufReader::new(file), path).read().map(Some)
}

/// Decodes a snapshot file held in memory (`name` is used in errors).
pub fn decode(bytes: &[u8], name: &Path) -> Result<SnapshotFile, SnapshotError> {
    Reader::new(bytes, name).read()
}

/// Reads one file from a byte source, keeping the offset for error messages.
struct Reader<'p, R: Read> {
    input: R,
    path: &'p Path,
    offset: u64,
}

/// How reading a fixed number of bytes ended.
enum Fill {
    Full,
    /// The input ended after this many bytes.
    Short(usize),
}

impl<'p, R: Read> Reader<'p, R> {
    fn new(input: R, path: &'p Path) -> Self {
        Reader {
            input,
            path,
            offset: 0,
        }
    }

    fn io(&self, source: io::Error) -> SnapshotError {
        SnapshotError::Io {
            path: self.path.to_owned(),
            source,
        }
    }

    fn corrupt(&self, offset: u64, what: impl Into<String>) -> SnapshotError {
        SnapshotError::Corrupt {
            path: self.path.to_owned(),
            offset,
            what: what.into(),
        }
    }

    fn truncated(&self) -> SnapshotError {
        SnapshotError::Truncated {
            path: self.path.to_owned(),
            offset: self.offset,
        }
    }

    /// Fills `buf` as far as the input goes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<Fill, SnapshotError> {
        let mut done = 0;
        while done < buf.len() {
            match self.input.read(&mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => {
                    done += n;
                    self.offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
        Ok(if done == buf.len() {
            Fill::Full
        } else {
            Fill::Short(done)
        })
    }

    fn exact(&mut self, buf: &mut [u8]) -> Result<(), SnapshotError> {
        match self.fill(buf)? {
            Fill::Full => Ok(()),
            Fill::Short(_) => Err(self.truncated()),
        }
    }

    fn read(mut self) -> Result<SnapshotFile, SnapshotError> {
        let mut head = [0u8; 12];
        match self.fill(&mut head)? {
            Fill::Full if head[..8] == MAGIC => {}
            Fill::Full => return self.read_legacy(&head),
            Fill::Short(n) => return self.read_legacy(&head[..n]),
        }
        let version = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        if version > FORMAT_VERSION {
            return Err(SnapshotError::NewerVersion {
                path: self.path.to_owned(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(self.corrupt(8, "version 0 has no header"));
        }
        self.read_v1(version)
    }

    /// One frame: its kind, payload and starting offset.
    fn frame(&mut self) -> Result<(u8, Vec<u8>, u64), SnapshotError> {
        let start = self.offset;
        let mut header = [0u8; FRAME_HEADER];
        self.exact(&mut header)?;
        let kind = header[0];
        let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let crc = u32::from_le_bytes([header[5], header[6], header[7], header[8]]);
        if len > MAX_FRAME_BYTES {
            return Err(self.corrupt(start, format!("frame length {len} is implausible")));
        }
        let mut payload = vec![0u8; len];
        self.exact(&mut payload)?;
        if frame_crc(kind, &payload) != crc {
            return Err(self.corrupt(start, "checksum mismatch"));
        }
        Ok((kind, payload, start))
    }

    fn read_v1(mut self, version: u32) -> Result<SnapshotFile, SnapshotError> {
        let (kind, meta, start) = self.frame()?;
        if kind != KIND_META {
            return Err(self.corrupt(
                start,
                format!("expected the metadata frame, got kind {kind}"),
            ));
        }
        let meta: Meta = postcard::from_bytes(&meta)
            .map_err(|e| self.corrupt(start, format!("undecodable metadata: {e}")))?;
        let mut body = Vec::new();
        let mut crc = crc32fast::Hasher::new();
        loop {
            let (kind, payload, start) = self.frame()?;
            match kind {
                KIND_CHUNK => {
                    crc.update(&payload);
                    body.extend_from_slice(&payload);
                }
                KIND_END => {
                    self.check_end(&payload, start, body.len() as u64, crc.finalize())?;
                    return Ok(SnapshotFile {
                        meta,
                        body,
                        version,
                    });
                }
                other => return Err(self.corrupt(start, format!("unexpected frame kind {other}"))),
            }
        }
    }

    fn check_end(
        &mut self,
        end: &[u8],
        start: u64,
        body_len: u64,
        body_crc: u32,
    ) -> Result<(), SnapshotError> {
        let (Some(len), Some(crc)) = (end.get(..8), end.get(8..12)) else {
            return Err(self.corrupt(start, "short end frame"));
        };
        let len = u64::from_le_bytes(len.try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(crc.try_into().unwrap_or_default());
        if len != body_len || crc != body_crc || end.len() != 12 {
            return Err(self.corrupt(start, "the body does not match the end frame"));
        }
        let mut extra = [0u8; 1];
        match self.fill(&mut extra)? {
            Fill::Short(0) => Ok(()),
            _ => Err(self.corrupt(self.offset - 1, "bytes after the end frame")),
        }
    }

    /// Version 0: `[len u32][crc32 u32][postcard {meta, data}]`, the whole file;
    /// `head` holds the bytes already read.
    fn read_legacy(mut self, head: &[u8]) -> Result<SnapshotFile, SnapshotError> {
        #[derive(Deserialize)]
        struct Legacy {
            meta: Meta,
            data: Vec<u8>,
        }
        let (Some(len), Some(crc)) = (head.get(0..4), head.get(4..8)) else {
            return Err(self.corrupt(0, "too short to be a snapshot"));
        };
        let len = u32::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(crc.try_into().unwrap_or_default());
        if len > LEGACY_MAX_RECORD {
            return Err(self.corrupt(0, "neither a tenure snapshot header nor a legacy record"));
        }
        let mut record = head[8..].to_vec();
        if record.len() > len {
            return Err(self.corrupt(0, "bytes after the legacy record"));
        }
        let have = record.len();
        record.resize(len, 0);
        self.exact(&mut record[have..])?;
        if crc32fast::hash(&record) != crc {
            return Err(self.corrupt(0, "legacy record checksum mismatch"));
        }
        let legacy: Legacy = postcard::from_bytes(&record)
            .map_err(|e| self.corrupt(0, format!("undecodable legacy record: {e}")))?;
        Ok(SnapshotFile {
            meta: legacy.meta,
            body: legacy.data,
            version: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::StoredMembership;

    fn meta(index: u64) -> Meta {
        Meta {
            last_log_id: Some(crate::raft::log_id(2, 1, index)),
            last_membership: StoredMembership::default(),
        }
    }

    fn body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    fn written(len: usize) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("snapshot.bin");
        write(&path, &meta(7), &body(len)).expect("write");
        (dir, path)
    }

    #[test]
    fn a_multi_chunk_snapshot_round_trips() {
        let (_dir, path) = written(3 * CHUNK_BYTES + 17);
        let file = read(&path).expect("read").expect("present");
        assert_eq!(file.meta, meta(7));
        assert_eq!(file.body, body(3 * CHUNK_BYTES + 17));
        assert_eq!(file.version, FORMAT_VERSION);
        let empty = encode(&meta(1), &[]).expect("encode");
        assert!(
            decode(&empty, Path::new("mem"))
                .expect("decode")
                .body
                .is_empty()
        );
    }

    #[test]
    fn a_missing_file_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(read(&dir.path().join("none")).expect("read").is_none());
    }

    #[test]
    fn every_truncation_is_detected() {
        let bytes = encode(&meta(7), &body(2 * CHUNK_BYTES + 5)).expect("encode");
        // Every cut point in the header, metadata and end frames, and some inside chunks.
        let cuts = (0..200)
            .chain((CHUNK_BYTES..CHUNK_BYTES + 50).step_by(7))
            .chain(bytes.len() - 30..bytes.len());
        for cut in cuts {
            let err = decode(&bytes[..cut], Path::new("cut.bin")).expect_err("truncated");
            assert!(
                matches!(
                    err,
                    SnapshotError::Truncated { .. } | SnapshotError::Corrupt { .. }
                ),
                "cut at {cut}: {err}"
            );
        }
        // A cut at a frame boundary, after the last chunk: only the end frame tells.
        let err = decode(&bytes[..bytes.len() - 21], Path::new("cut.bin")).expect_err("cut");
        assert!(matches!(err, SnapshotError::Truncated { .. }), "{err}");
        assert!(err.to_string().contains("cut.bin"), "{err}");
    }

    #[test]
    fn a_flipped_bit_anywhere_is_detected() {
        let bytes = encode(&meta(7), &body(CHUNK_BYTES + 100)).expect("encode");
        let step = bytes.len() / 97;
        for at in (12..bytes.len())
            .step_by(step)
            .chain([13, 25, bytes.len() - 1])
        {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            let err = decode(&bad, Path::new("flip.bin")).expect_err("flipped");
            assert!(
                matches!(
                    err,
                    SnapshotError::Corrupt { .. } | SnapshotError::Truncated { .. }
                ),
                "flip at {at}: {err}"
            );
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            decode(&trailing, Path::new("t")),
            Err(SnapshotError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_newer_version_is_refused_with_both_versions_named() {
        let (_dir, path) = written(10);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        std::fs::write(&path, &bytes).expect("write");
        let err = read(&path).expect_err("newer");
        assert!(
            matches!(err, SnapshotError::NewerVersion { found, supported, .. }
                if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(
            text.contains("version 2") && text.contains("version 1"),
            "{text}"
        );
    }

    #[test]
    fn a_legacy_unversioned_snapshot_is_still_read() {
        #[derive(serde::Serialize)]
        struct Legacy<'a> {
            meta: &'a Meta,
            data: Vec<u8>,
        }
        let record = postcard::to_stdvec(&Legacy {
            meta: &meta(3),
            data: body(1000),
        })
        .expect("encode");
        let mut bytes = (record.len() as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&crc32fast::hash(&record).to_le_bytes());
        bytes.extend_from_slice(&record);
        let file = decode(&bytes, Path::new("old.bin")).expect("legacy");
        assert_eq!(
            (file.meta, file.body, file.version),
            (meta(3), body(1000), 0)
        );
        bytes[20] ^= 1;
        assert!(decode(&bytes, Path::new("old.bin")).is_err());
        assert!(decode(b"garbage!garbage!", Path::new("g")).is_err());
        assert!(decode(b"", Path::new("g")).is_err());
    }
}
