//! A segmented write-ahead log of checksummed records.
//!
//! Frame: `[len: u32 LE][crc32(payload): u32 LE][payload]`. Appends go to the
//! newest segment; `sync` makes them durable with one `fdatasync`. On open, every
//! segment is read in order; a short or corrupt frame at the tail of the newest
//! segment is a torn write from a crash and is cut off, anywhere else it is
//! corruption and opening fails. Segments are named by a sequence number, so the
//! owner can delete whole old segments once nothing in them is needed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const HEADER: usize = 8;
/// Largest payload accepted (a frame with a larger length is treated as corrupt).
pub const MAX_RECORD: usize = 64 << 20;

/// The newest segment, open for appends.
pub struct Wal {
    dir: PathBuf,
    file: File,
    seq: u64,
    len: u64,
}

/// What `Wal::open` found on disk.
pub struct Recovered {
    /// Payloads per segment, oldest segment first: (sequence number, records).
    pub segments: Vec<(u64, Vec<Vec<u8>>)>,
    /// Bytes cut off the tail of the newest segment (a torn write), if any.
    pub truncated_bytes: u64,
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
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

/// Encodes one record into its frame, appended to `out`.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Decodes the first frame of `bytes`: its payload and the bytes after it, or
/// None if it is short or fails its checksum.
pub fn unframe(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let header = bytes.get(..HEADER)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_RECORD {
        return None;
    }
    let payload = bytes.get(HEADER..HEADER.checked_add(len)?)?;
    (crc32fast::hash(payload) == crc).then(|| (payload, &bytes[HEADER + len..]))
}

/// Splits a segment's bytes into payloads; returns them and the length of the
/// valid prefix (shorter than `bytes` if the tail is torn or corrupt).
fn parse(bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut records = Vec::new();
    let mut rest = bytes;
    while let Some((payload, after)) = unframe(rest) {
        records.push(payload.to_vec());
        rest = after;
    }
    (records, bytes.len() - rest.len())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Wal {
    /// Opens (or creates) the log in `dir`, repairing a torn tail.
    pub fn open(dir: &Path) -> io::Result<(Wal, Recovered)> {
        fs::create_dir_all(dir)?;
        let seqs = list_segments(dir)?;
        let mut segments = Vec::with_capacity(seqs.len());
        let mut truncated_bytes = 0;
        for (i, &seq) in seqs.iter().enumerate() {
            let mut bytes = Vec::new();
            File::open(segment_path(dir, seq))?.read_to_end(&mut bytes)?;
            let (records, valid) = parse(&bytes);
            if valid < bytes.len() {
                if i + 1 != seqs.len() {
                    return Err(io::Error::new(
                        ErrorKind::InvalidData,
                        format!("segment {seq} is corrupt at byte {valid}"),
                    ));
                }
                truncated_bytes = (bytes.len() - valid) as u64;
                let f = OpenOptions::new()
                    .write(true)
                    .open(segment_path(dir, seq))?;
                f.set_len(valid as u64)?;
                f.sync_all()?;
            }
            segments.push((seq, records));
        }
        let seq = seqs.last().copied().unwrap_or(1);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(segment_path(dir, seq))?;
        let len = file.metadata()?.len();
        if seqs.is_empty() {
            file.sync_all()?;
            sync_dir(dir)?;
        }
        let wal = Wal {
            dir: dir.to_owned(),
            file,
            seq,
            len,
        };
        Ok((
            wal,
            Recovered {
                segments,
                truncated_bytes,
            },
        ))
    }

    /// Sequence number of the segment now being appended to.
    pub fn current_segment(&self) -> u64 {
        self.seq
    }

    /// Bytes in the current segment.
    pub fn current_len(&self) -> u64 {
        self.len
    }

    /// Appends already framed bytes (see [`frame`]); durable only after [`Wal::sync`].
    pub fn write(&mut self, framed: &[u8]) -> io::Result<()> {
        self.file.write_all(framed)?;
        self.len += framed.len() as u64;
        Ok(())
    }

    /// Makes every write so far durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Syncs the current segment and starts a new one beginning with `header`
    /// (framed records restating whatever older segments hold that is still needed).
    pub fn rotate(&mut self, header: &[u8]) -> io::Result<()> {
        self.file.sync_data()?;
        let seq = self.seq + 1;
        let path = segment_path(&self.dir, seq);
        let tmp = path.with_extension("tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(header)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        sync_dir(&self.dir)?;
        let mut file = OpenOptions::new().append(true).open(&path)?;
        file.seek(SeekFrom::End(0))?;
        self.file = file;
        self.seq = seq;
        self.len = header.len() as u64;
        Ok(())
    }

    /// Deletes every segment older than `seq` (never the current one).
    pub fn remove_before(&mut self, seq: u64) -> io::Result<()> {
        let limit = seq.min(self.seq);
        for old in list_segments(&self.dir)? {
            if old < limit {
                fs::remove_file(segment_path(&self.dir, old))?;
            }
        }
        sync_dir(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(records: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            frame(r, &mut out);
        }
        out
    }

    #[test]
    fn records_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, rec) = Wal::open(dir.path()).expect("open");
        assert!(rec.segments.iter().all(|(_, r)| r.is_empty()));
        wal.write(&framed(&[b"one", b"two"])).expect("write");
        wal.sync().expect("sync");
        drop(wal);
        let (_, rec) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(rec.segments[0].1, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(rec.truncated_bytes, 0);
    }

    #[test]
    fn torn_tail_is_cut_off_and_appends_continue() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = Wal::open(dir.path()).expect("open");
        wal.write(&framed(&[b"kept"])).expect("write");
        let torn = framed(&[b"torn record"]);
        wal.write(&torn[..torn.len() - 3]).expect("write");
        wal.sync().expect("sync");
        drop(wal);
        let (mut wal, rec) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(rec.segments[0].1, vec![b"kept".to_vec()]);
        assert_eq!(rec.truncated_bytes, (torn.len() - 3) as u64);
        wal.write(&framed(&[b"after"])).expect("write");
        wal.sync().expect("sync");
        drop(wal);
        let (_, rec) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(rec.segments[0].1, vec![b"kept".to_vec(), b"after".to_vec()]);
    }

    #[test]
    fn flipped_bit_in_tail_fails_checksum() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = Wal::open(dir.path()).expect("open");
        wal.write(&framed(&[b"good", b"flipped"])).expect("write");
        wal.sync().expect("sync");
        drop(wal);
        let path = segment_path(dir.path(), 1);
        let mut bytes = fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).expect("write");
        let (_, rec) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(rec.segments[0].1, vec![b"good".to_vec()]);
    }

    #[test]
    fn corruption_in_an_older_segment_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = Wal::open(dir.path()).expect("open");
        wal.write(&framed(&[b"a", b"b"])).expect("write");
        wal.rotate(&framed(&[b"header"])).expect("rotate");
        drop(wal);
        let path = segment_path(dir.path(), 1);
        let mut bytes = fs::read(&path).expect("read");
        bytes[HEADER] ^= 0xff;
        fs::write(&path, &bytes).expect("write");
        assert!(Wal::open(dir.path()).is_err());
    }

    #[test]
    fn rotate_and_remove_old_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = Wal::open(dir.path()).expect("open");
        wal.write(&framed(&[b"old"])).expect("write");
        wal.rotate(&framed(&[b"header"])).expect("rotate");
        wal.write(&framed(&[b"new"])).expect("write");
        wal.sync().expect("sync");
        wal.remove_before(2).expect("remove");
        drop(wal);
        let (_, rec) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(rec.segments.len(), 1);
        assert_eq!(
            rec.segments[0],
            (2, vec![b"header".to_vec(), b"new".to_vec()])
        );
    }
}
