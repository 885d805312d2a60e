//! The FUSE side: a pass-through of a backing directory whose file data goes
//! through an [`Overlay`] per inode. Directory operations (create, mkdir,
//! unlink, rmdir, rename) and attribute changes other than the size are
//! applied to the backing directory at once, so they are durable at once.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::os::unix::fs::{DirBuilderExt, DirEntryExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    BsdFileFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation,
    INodeNo, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use parking_lot::Mutex;

use crate::Stats;
use crate::overlay::{Overlay, read_full_at};

/// Entries and attributes are never cached by the kernel: a power loss changes
/// sizes behind its back.
const TTL: Duration = Duration::ZERO;

/// State shared by the FUSE thread and the [`crate::LossyFs`] handle.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
}

/// Everything the filesystem knows, behind one lock (requests run one at a time).
pub(crate) struct State {
    inodes: Inodes,
    handles: HashMap<u64, Handle>,
    next_fh: u64,
    overlays: HashMap<u64, Overlay>,
    pub(crate) stats: Stats,
}

/// An open file: the backing file (always opened read-write) and its mode.
struct Handle {
    file: File,
    append: bool,
}

/// FUSE inode numbers <-> backing paths. Numbers are never reused.
struct Inodes {
    paths: HashMap<u64, PathBuf>,
    by_backing: HashMap<u64, u64>,
    next: u64,
}

impl Inodes {
    fn new(root: PathBuf) -> Inodes {
        Inodes {
            paths: HashMap::from([(INodeNo::ROOT.0, root)]),
            by_backing: HashMap::new(),
            next: INodeNo::ROOT.0 + 1,
        }
    }

    fn path(&self, ino: u64) -> Result<&PathBuf, Errno> {
        self.paths.get(&ino).ok_or(Errno::ENOENT)
    }

    fn child(&self, parent: u64, name: &OsStr) -> Result<PathBuf, Errno> {
        Ok(self.path(parent)?.join(name))
    }

    /// The FUSE inode of the backing inode `backing_ino` now at `path`.
    fn assign(&mut self, backing_ino: u64, path: PathBuf) -> u64 {
        if self.paths.get(&INodeNo::ROOT.0) == Some(&path) {
            return INodeNo::ROOT.0;
        }
        let ino = match self.by_backing.get(&backing_ino) {
            Some(&ino) => ino,
            None => {
                let ino = self.next;
                self.next += 1;
                self.by_backing.insert(backing_ino, ino);
                ino
            }
        };
        self.paths.insert(ino, path);
        ino
    }

    /// The backing inode at `path` if removing that name would remove the inode.
    fn last_link(path: &Path) -> Option<u64> {
        let meta = fs::symlink_metadata(path).ok()?;
        (meta.is_dir() || meta.nlink() <= 1).then(|| meta.ino())
    }

    /// Forgets the backing inode at `path` (it is being removed or replaced),
    /// so a new file that reuses its number gets a fresh FUSE inode.
    fn unmap(&mut self, path: &Path) -> Option<u64> {
        self.forget_backing(Inodes::last_link(path)?)
    }

    /// Forgets backing inode `backing_ino`; returns the FUSE inode it had.
    fn forget_backing(&mut self, backing_ino: u64) -> Option<u64> {
        self.by_backing.remove(&backing_ino)
    }

    /// Moves every inode under `from` to the same place under `to`.
    fn renamed(&mut self, from: &Path, to: &Path) {
        for path in self.paths.values_mut() {
            if let Ok(rest) = path.strip_prefix(from) {
                *path = to.join(rest);
            }
        }
    }
}

impl Shared {
    pub(crate) fn new(backing: PathBuf) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State {
                inodes: Inodes::new(backing),
                handles: HashMap::new(),
                next_fh: 1,
                overlays: HashMap::new(),
                stats: Stats::default(),
            }),
        })
    }
}

impl State {
    /// Drops every pending write (the power loss); returns the bytes dropped.
    pub(crate) fn drop_pending(&mut self) -> u64 {
        let bytes = self.overlays.values().map(Overlay::pending_bytes).sum();
        let files = self.overlays.len() as u64;
        for (ino, overlay) in self.overlays.drain() {
            let path = self.inodes.paths.get(&ino).map(|p| p.display().to_string());
            tracing::info!(
                ?path,
                bytes = overlay.pending_bytes(),
                "power loss drops unsynced data"
            );
        }
        self.stats.power_losses += 1;
        self.stats.bytes_dropped += bytes;
        self.stats.files_dropped += files;
        bytes
    }

    /// The attributes of `ino` as this filesystem shows them (pending size included).
    fn attr(&mut self, ino: u64, meta: &fs::Metadata) -> FileAttr {
        let size = self.overlays.get(&ino).map_or(meta.len(), |o| o.size());
        file_attr(ino, meta, size)
    }

    fn lookup_path(&mut self, path: PathBuf) -> Result<FileAttr, Errno> {
        let meta = fs::symlink_metadata(&path).map_err(Errno::from)?;
        let ino = self.inodes.assign(meta.ino(), path);
        Ok(self.attr(ino, &meta))
    }

    fn getattr(&mut self, ino: u64, fh: Option<u64>) -> Result<FileAttr, Errno> {
        let meta = match fh.and_then(|fh| self.handles.get(&fh)) {
            Some(h) => h.file.metadata(),
            None => fs::symlink_metadata(self.inodes.path(ino)?),
        }
        .map_err(Errno::from)?;
        Ok(self.attr(ino, &meta))
    }

    /// A backing file of `ino` to read sizes from or sync to.
    fn backing_file(&self, ino: u64, fh: Option<u64>) -> Result<File, Errno> {
        if let Some(h) = fh.and_then(|fh| self.handles.get(&fh)) {
            return h.file.try_clone().map_err(Errno::from);
        }
        open_backing(self.inodes.path(ino)?, false, false)
    }

    fn overlay(&mut self, ino: u64, file: &File) -> Result<&mut Overlay, Errno> {
        match self.overlays.entry(ino) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let len = file.metadata().map_err(Errno::from)?.len();
                Ok(e.insert(Overlay::new(len)))
            }
        }
    }

    fn set_size(&mut self, ino: u64, fh: Option<u64>, size: u64) -> Result<(), Errno> {
        let file = self.backing_file(ino, fh)?;
        self.overlay(ino, &file)?
            .set_size(size)
            .map_err(Errno::from)
    }

    fn setattr(&mut self, ino: u64, attrs: SetAttrs) -> Result<FileAttr, Errno> {
        let path = self.inodes.path(ino)?.clone();
        if let Some(mode) = attrs.mode {
            fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .map_err(Errno::from)?;
        }
        if attrs.uid.is_some() || attrs.gid.is_some() {
            std::os::unix::fs::lchown(&path, attrs.uid, attrs.gid).map_err(Errno::from)?;
        }
        if let Some(size) = attrs.size {
            self.set_size(ino, attrs.fh, size)?;
        }
        self.getattr(ino, attrs.fh)
    }

    fn add_handle(&mut self, ino: u64, file: File, flags: i32) -> Result<u64, Errno> {
        let fh = self.next_fh;
        self.next_fh += 1;
        let append = flags & libc::O_APPEND != 0;
        self.handles.insert(fh, Handle { file, append });
        if flags & libc::O_TRUNC != 0 {
            self.set_size(ino, Some(fh), 0)?;
        }
        Ok(fh)
    }

    fn open(&mut self, ino: u64, flags: i32) -> Result<u64, Errno> {
        let file = open_backing(self.inodes.path(ino)?, false, false)?;
        self.add_handle(ino, file, flags)
    }

    fn create(
        &mut self,
        parent: u64,
        name: &OsStr,
        mode: u32,
        flags: i32,
    ) -> Result<(FileAttr, u64), Errno> {
        let path = self.inodes.child(parent, name)?;
        let exclusive = flags & libc::O_EXCL != 0;
        let existed = path.exists();
        let file = open_backing(&path, true, exclusive)?;
        if !existed {
            // A new file must not inherit the pending data of an earlier inode.
            self.inodes.unmap(&path);
            fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .map_err(Errno::from)?;
        }
        let attr = self.lookup_path(path)?;
        let fh = self.add_handle(attr.ino.0, file, flags)?;
        let attr = self.getattr(attr.ino.0, Some(fh))?;
        Ok((attr, fh))
    }

    fn read(&mut self, ino: u64, fh: u64, offset: u64, size: u32) -> Result<Vec<u8>, Errno> {
        let handle = self.handles.get(&fh).ok_or(Errno::EBADF)?;
        if let Some(overlay) = self.overlays.get(&ino) {
            return overlay
                .read(&handle.file, offset, size as usize)
                .map_err(Errno::from);
        }
        let len = handle.file.metadata().map_err(Errno::from)?.len();
        let n = len.saturating_sub(offset).min(u64::from(size)) as usize;
        let mut buf = vec![0; n];
        read_full_at(&handle.file, &mut buf, offset).map_err(Errno::from)?;
        Ok(buf)
    }

    fn write(&mut self, ino: u64, fh: u64, offset: u64, data: &[u8]) -> Result<u32, Errno> {
        let handle = self.handles.get(&fh).ok_or(Errno::EBADF)?;
        let (file, append) = (handle.file.try_clone().map_err(Errno::from)?, handle.append);
        let overlay = self.overlay(ino, &file)?;
        // O_APPEND writes at the end this filesystem shows, not the kernel's idea of it.
        let offset = if append { overlay.size() } else { offset };
        overlay.write(&file, offset, data).map_err(Errno::from)?;
        self.stats.bytes_written += data.len() as u64;
        u32::try_from(data.len()).map_err(|_| Errno::EINVAL)
    }

    fn fsync(&mut self, ino: u64, fh: u64) -> Result<(), Errno> {
        let file = self.backing_file(ino, Some(fh))?;
        match self.overlays.get(&ino) {
            Some(overlay) => {
                overlay.sync_to(&file).map_err(Errno::from)?;
                self.stats.bytes_synced += overlay.pending_bytes();
                self.overlays.remove(&ino);
            }
            None => file.sync_all().map_err(Errno::from)?,
        }
        self.stats.fsyncs += 1;
        Ok(())
    }

    fn readdir(&mut self, ino: u64, offset: u64, reply: &mut ReplyDirectory) -> Result<(), Errno> {
        let dir = self.inodes.path(ino)?.clone();
        let mut entries = vec![
            (ino, FileType::Directory, ".".into()),
            (ino, FileType::Directory, "..".into()),
        ];
        for entry in fs::read_dir(&dir).map_err(Errno::from)? {
            let entry = entry.map_err(Errno::from)?;
            let kind = entry
                .file_type()
                .ok()
                .and_then(FileType::from_std)
                .unwrap_or(FileType::RegularFile);
            let child = self.inodes.assign(entry.ino(), entry.path());
            entries.push((child, kind, entry.file_name()));
        }
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        for (i, (child, kind, name)) in entries.into_iter().enumerate().skip(skip) {
            if reply.add(INodeNo(child), i as u64 + 1, kind, name) {
                break;
            }
        }
        Ok(())
    }

    fn rename(
        &mut self,
        from: (u64, &OsStr),
        to: (u64, &OsStr),
        flags: RenameFlags,
    ) -> Result<(), Errno> {
        if !flags.is_empty() {
            return Err(Errno::EINVAL);
        }
        let old = self.inodes.child(from.0, from.1)?;
        let new = self.inodes.child(to.0, to.1)?;
        let moved = fs::symlink_metadata(&old).map_err(Errno::from)?.ino();
        // The inode a rename replaces; none if it is the moved one itself.
        let replaced = Inodes::last_link(&new).filter(|&b| b != moved);
        fs::rename(&old, &new).map_err(Errno::from)?;
        if let Some(ino) = replaced.and_then(|b| self.inodes.forget_backing(b)) {
            self.overlays.remove(&ino);
        }
        self.inodes.renamed(&old, &new);
        Ok(())
    }

    fn remove(&mut self, parent: u64, name: &OsStr, dir: bool) -> Result<(), Errno> {
        let path = self.inodes.child(parent, name)?;
        let gone = Inodes::last_link(&path);
        if dir {
            fs::remove_dir(&path)
        } else {
            fs::remove_file(&path)
        }
        .map_err(Errno::from)?;
        if let Some(ino) = gone.and_then(|b| self.inodes.forget_backing(b)) {
            // Nothing can fsync a removed file's data into a name again.
            self.overlays.remove(&ino);
        }
        Ok(())
    }
}

/// The attribute changes of one `setattr` this filesystem applies.
struct SetAttrs {
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
    size: Option<u64>,
    fh: Option<u64>,
}

/// Opens a backing file read-write (the overlay needs both), creating it if asked.
fn open_backing(path: &Path, create: bool, exclusive: bool) -> Result<File, Errno> {
    let mut options = File::options();
    options.read(true).write(true).mode(0o644);
    if exclusive {
        options.create_new(true);
    } else {
        options.create(create);
    }
    options.open(path).map_err(Errno::from)
}

fn file_attr(ino: u64, meta: &fs::Metadata, size: u64) -> FileAttr {
    let time = |secs: i64, nsecs: i64| {
        let nanos = u32::try_from(nsecs).unwrap_or(0);
        match u64::try_from(secs) {
            Ok(s) => UNIX_EPOCH + Duration::new(s, nanos),
            Err(_) => UNIX_EPOCH,
        }
    };
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: size.div_ceil(512),
        atime: time(meta.atime(), meta.atime_nsec()),
        mtime: time(meta.mtime(), meta.mtime_nsec()),
        ctime: time(meta.ctime(), meta.ctime_nsec()),
        crtime: SystemTime::UNIX_EPOCH,
        kind: FileType::from_std(meta.file_type()).unwrap_or(FileType::RegularFile),
        perm: (meta.mode() & 0o7777) as u16,
        nlink: u32::try_from(meta.nlink()).unwrap_or(u32::MAX),
        uid: meta.uid(),
        gid: meta.gid(),
        rdev: u32::try_from(meta.rdev()).unwrap_or(0),
        blksize: 4096,
        flags: 0,
    }
}

/// The `fuser` filesystem: every request takes the one state lock.
pub(crate) struct LossyFilesystem {
    pub(crate) shared: Arc<Shared>,
}

impl LossyFilesystem {
    fn state(&self) -> parking_lot::MutexGuard<'_, State> {
        self.shared.state.lock()
    }
}

impl Filesystem for LossyFilesystem {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let mut state = self.state();
        match state
            .inodes
            .child(parent.0, name)
            .and_then(|p| state.lookup_path(p))
        {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.state().getattr(ino.0, fh.map(|f| f.0)) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let attrs = SetAttrs {
            mode,
            uid,
            gid,
            size,
            fh: fh.map(|f| f.0),
        };
        match self.state().setattr(ino.0, attrs) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let mut state = self.state();
        let made = state.inodes.child(parent.0, name).and_then(|path| {
            fs::DirBuilder::new()
                .mode(mode & !umask)
                .create(&path)
                .map_err(Errno::from)?;
            state.inodes.unmap(&path);
            state.lookup_path(path)
        });
        match made {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(reply, self.state().remove(parent.0, name, false));
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(reply, self.state().remove(parent.0, name, true));
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let done = self
            .state()
            .rename((parent.0, name), (newparent.0, newname), flags);
        reply_empty(reply, done);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match self.state().open(ino.0, flags.0) {
            // Direct I/O: no kernel page cache that could outlive a power loss.
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::FOPEN_DIRECT_IO),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        match self.state().create(parent.0, name, mode & !umask, flags) {
            Ok((attr, fh)) => reply.created(
                &TTL,
                &attr,
                Generation(0),
                FileHandle(fh),
                FopenFlags::FOPEN_DIRECT_IO,
            ),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyData,
    ) {
        match self.state().read(ino.0, fh.0, offset, size) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.state().write(ino.0, fh.0, offset, data) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: fuser::LockOwner,
        reply: ReplyEmpty,
    ) {
        // close() makes nothing durable.
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        // The pending data stays (it is in the "page cache"), only the handle goes.
        self.state().handles.remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply_empty(reply, self.state().fsync(ino.0, fh.0));
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        match self.state().readdir(ino.0, offset, &mut reply) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut state = self.state();
        let synced = state.inodes.path(ino.0).and_then(|p| {
            File::open(p)
                .and_then(|d| d.sync_all())
                .map_err(Errno::from)
        });
        if synced.is_ok() {
            state.stats.fsyncs += 1;
        }
        reply_empty(reply, synced);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        reply.ok();
    }
}

fn reply_empty(reply: ReplyEmpty, result: Result<(), Errno>) {
    match result {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(e),
    }
}
