//! The unsynced part of one file: dirty pages held in memory over the backing
//! file, until an fsync writes them through or a power loss drops them.
//!
//! Invariants (every visible byte `p < size` is defined by them):
//! - a dirty page holds the whole page's current bytes (bytes past `size` are 0);
//! - a byte in no dirty page is `backing[p]` if `p < durable_len`, else 0
//!   (a truncation hides the backing bytes past the new end until the sync);
//! - `durable_len <= size`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes per overlay page.
pub const PAGE: u64 = 4096;

/// The largest file size (Linux's own limit), so page arithmetic cannot overflow.
pub const MAX_SIZE: u64 = i64::MAX as u64;

/// Pending (unsynced) contents of one file.
#[derive(Debug)]
pub struct Overlay {
    /// The file's visible length.
    size: u64,
    /// Backing bytes below this offset are still visible where no page covers them.
    durable_len: u64,
    /// Page index -> the page's current bytes (`PAGE` long).
    pages: BTreeMap<u64, Box<[u8]>>,
    /// Bytes written (or cut by a truncation) since the last sync, for counters.
    pending_bytes: u64,
}

impl Overlay {
    /// An overlay with no pending change over a backing file of `backing_len` bytes.
    pub fn new(backing_len: u64) -> Overlay {
        Overlay {
            size: backing_len,
            durable_len: backing_len,
            pages: BTreeMap::new(),
            pending_bytes: 0,
        }
    }

    /// The file's visible length.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes written or truncated since the last sync (what a power loss drops).
    pub fn pending_bytes(&self) -> u64 {
        self.pending_bytes
    }

    /// Writes `data` at `offset` into memory; `backing` fills a page's other bytes.
    pub fn write(&mut self, backing: &File, offset: u64, data: &[u8]) -> io::Result<()> {
        let len = data.len() as u64;
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= MAX_SIZE)
            .ok_or_else(too_large)?;
        let mut done = 0usize;
        while done < data.len() {
            let pos = offset + done as u64;
            let index = pos / PAGE;
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE as usize - in_page).min(data.len() - done);
            let page = self.page_mut(backing, index)?;
            page[in_page..in_page + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        self.size = self.size.max(end);
        self.pending_bytes = self.pending_bytes.saturating_add(len);
        Ok(())
    }

    /// Reads up to `len` bytes at `offset` (fewer at the end of the file).
    pub fn read(&self, backing: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let end = offset.saturating_add(len as u64).min(self.size);
        if offset >= end {
            return Ok(Vec::new());
        }
        let mut out = vec![0u8; (end - offset) as usize];
        let mut pos = offset;
        while pos < end {
            let index = pos / PAGE;
            let page_end = ((index + 1) * PAGE).min(end);
            let dst = &mut out[(pos - offset) as usize..(page_end - offset) as usize];
            match self.pages.get(&index) {
                Some(page) => {
                    let from = (pos - index * PAGE) as usize;
                    dst.copy_from_slice(&page[from..from + dst.len()]);
                }
                None => self.read_backing(backing, pos, dst)?,
            }
            pos = page_end;
        }
        Ok(out)
    }

    /// Truncates or extends the file to `size` (pending, like a write).
    pub fn set_size(&mut self, size: u64) -> io::Result<()> {
        if size > MAX_SIZE {
            return Err(too_large());
        }
        if size < self.size {
            let first_gone = size.div_ceil(PAGE);
            self.pages.split_off(&first_gone);
            if let Some(page) = self.pages.get_mut(&(size / PAGE)) {
                page[(size % PAGE) as usize..].fill(0);
            }
            self.durable_len = self.durable_len.min(size);
        }
        self.pending_bytes = self.pending_bytes.saturating_add(self.size.abs_diff(size));
        self.size = size;
        Ok(())
    }

    /// Writes the pending contents through to `backing` and fsyncs it.
    pub fn sync_to(&self, backing: &File) -> io::Result<()> {
        if backing.metadata()?.len() > self.durable_len {
            backing.set_len(self.durable_len)?;
        }
        for (&index, page) in &self.pages {
            let start = index * PAGE;
            let n = (self.size.saturating_sub(start)).min(PAGE) as usize;
            backing.write_all_at(&page[..n], start)?;
        }
        backing.set_len(self.size)?;
        backing.sync_all()
    }

    /// The dirty page `index`, loaded from the visible bytes on first touch.
    fn page_mut(&mut self, backing: &File, index: u64) -> io::Result<&mut [u8]> {
        if !self.pages.contains_key(&index) {
            let mut page = vec![0u8; PAGE as usize].into_boxed_slice();
            let start = index * PAGE;
            let visible = self.size.min(start + PAGE).saturating_sub(start) as usize;
            self.read_backing(backing, start, &mut page[..visible])?;
            self.pages.insert(index, page);
        }
        self.pages
            .get_mut(&index)
            .map(|p| &mut p[..])
            .ok_or_else(|| io::Error::other("overlay page vanished"))
    }

    /// Fills `dst` with the backing bytes at `pos`, zeros past `durable_len`.
    fn read_backing(&self, backing: &File, pos: u64, dst: &mut [u8]) -> io::Result<()> {
        dst.fill(0);
        let n = self.durable_len.saturating_sub(pos).min(dst.len() as u64) as usize;
        read_full_at(backing, &mut dst[..n], pos)
    }
}

/// Reads `dst.len()` bytes at `pos`, leaving zeros where the file ends early.
pub fn read_full_at(file: &File, dst: &mut [u8], pos: u64) -> io::Result<()> {
    let mut done = 0;
    while done < dst.len() {
        match file.read_at(&mut dst[done..], pos + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn too_large() -> io::Error {
    io::Error::from_raw_os_error(libc::EFBIG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn backing(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(bytes))
            .expect("write backing");
        let file = File::options()
            .read(true)
            .write(true)
            .open(&path)
            .expect("open");
        (dir, file)
    }

    fn backing_bytes(file: &File) -> Vec<u8> {
        let len = file.metadata().expect("stat").len() as usize;
        let mut v = vec![0; len];
        read_full_at(file, &mut v, 0).expect("read");
        v
    }

    #[test]
    fn writes_stay_in_memory_until_sync() {
        let (_d, f) = backing(b"hello");
        let mut o = Overlay::new(5);
        o.write(&f, 5, b" world").expect("write");
        assert_eq!(o.read(&f, 0, 100).expect("read"), b"hello world");
        assert_eq!(
            backing_bytes(&f),
            b"hello",
            "nothing reached the backing file"
        );
        o.sync_to(&f).expect("sync");
        assert_eq!(backing_bytes(&f), b"hello world");
    }

    #[test]
    fn writes_across_pages_and_holes_read_back() {
        let (_d, f) = backing(&[7u8; 5000]);
        let mut o = Overlay::new(5000);
        let data = vec![1u8; 6000];
        o.write(&f, 3000, &data).expect("write");
        o.write(&f, 20_000, b"end").expect("write past a hole");
        let all = o.read(&f, 0, 30_000).expect("read");
        assert_eq!(all.len(), 20_003);
        assert!(all[..3000].iter().all(|&b| b == 7));
        assert!(all[3000..9000].iter().all(|&b| b == 1));
        assert!(
            all[9000..20_000].iter().all(|&b| b == 0),
            "a hole reads as zeros"
        );
        o.sync_to(&f).expect("sync");
        assert_eq!(backing_bytes(&f), all);
    }

    #[test]
    fn truncate_then_extend_hides_the_old_bytes() {
        let (_d, f) = backing(&[9u8; 10_000]);
        let mut o = Overlay::new(10_000);
        o.write(&f, 100, b"x").expect("write");
        o.set_size(50).expect("truncate");
        o.set_size(10_000).expect("extend");
        let all = o.read(&f, 0, 10_000).expect("read");
        assert!(all[..50].iter().all(|&b| b == 9));
        assert!(
            all[50..].iter().all(|&b| b == 0),
            "cut bytes do not come back"
        );
        o.write(&f, 6000, b"y").expect("write");
        let all = o.read(&f, 0, 10_000).expect("read");
        o.sync_to(&f).expect("sync");
        assert_eq!(backing_bytes(&f), all);
        assert_eq!(all[6000], b'y');
        assert_eq!(all[5999], 0);
    }

    #[test]
    fn a_write_at_the_largest_offset_is_an_error_not_a_panic() {
        let (_d, f) = backing(b"");
        let mut o = Overlay::new(0);
        assert!(o.write(&f, u64::MAX, b"ab").is_err());
    }
}
