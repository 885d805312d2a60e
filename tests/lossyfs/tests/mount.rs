//! The lossy filesystem mounted for real (needs root and /dev/fuse): unsynced
//! writes are visible until a power loss and gone after it; fsynced ones stay.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use tenure_lossyfs::LossyFs;

fn mounted() -> (tempfile::TempDir, LossyFs) {
    let dir = tempfile::tempdir().expect("tempdir");
    let fs = LossyFs::mount(dir.path().join("backing"), dir.path().join("mnt"))
        .expect("mount lossyfs (the test runs as root)");
    (dir, fs)
}

fn read(path: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut v))
        .expect("read");
    v
}

/// Negative control for the test below: `LOSSYFS_NEGATIVE_CONTROL=no-drop`
/// skips the power loss, and the test must then fail.
fn power_loss(fs: &LossyFs) {
    if std::env::var("LOSSYFS_NEGATIVE_CONTROL").as_deref() != Ok("no-drop") {
        fs.power_loss();
    }
}

#[test]
fn unsynced_writes_are_lost_and_synced_ones_kept() {
    let (_dir, fs) = mounted();
    let mnt = fs.mountpoint().to_owned();

    let mut synced = File::create(mnt.join("synced")).expect("create");
    synced.write_all(b"durable").expect("write");
    synced.sync_data().expect("fdatasync");
    synced.write_all(b" and then not").expect("write");

    let mut lost = File::create(mnt.join("lost")).expect("create");
    lost.write_all(&[7u8; 10_000]).expect("write");

    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(mnt.join("log"))
        .expect("open append");
    log.write_all(b"one;").expect("append");
    log.sync_all().expect("fsync");
    log.write_all(b"two;").expect("append");

    // Before the power loss every write is visible (the page cache).
    assert_eq!(read(&mnt.join("synced")), b"durable and then not");
    assert_eq!(read(&mnt.join("lost")).len(), 10_000);
    assert_eq!(read(&mnt.join("log")), b"one;two;");
    assert_eq!(fs::metadata(mnt.join("log")).expect("stat").len(), 8);
    drop((synced, lost, log));

    power_loss(&fs);

    assert_eq!(read(&mnt.join("synced")), b"durable");
    assert_eq!(
        read(&mnt.join("lost")),
        b"",
        "created, never fsynced: empty"
    );
    assert_eq!(read(&mnt.join("log")), b"one;");
    assert_eq!(fs::metadata(mnt.join("log")).expect("stat").len(), 4);
    let stats = fs.stats();
    assert_eq!(stats.power_losses, 1);
    assert_eq!(stats.bytes_dropped, 13 + 10_000 + 4);
    assert_eq!(stats.fsyncs, 2);

    // Appending after the power loss continues at the durable end.
    let mut log = OpenOptions::new()
        .append(true)
        .open(mnt.join("log"))
        .expect("reopen");
    log.write_all(b"three;").expect("append");
    log.sync_data().expect("fdatasync");
    drop(log);
    fs.power_loss();
    assert_eq!(read(&mnt.join("log")), b"one;three;");
}

#[test]
fn renames_and_truncation_follow_the_rules() {
    let (dir, fs) = mounted();
    let mnt = fs.mountpoint().to_owned();
    fs::create_dir(mnt.join("sub")).expect("mkdir");

    // temp file, fsync, rename: the classic atomic replace survives.
    let tmp = mnt.join("sub/snap.tmp");
    let mut f = File::create(&tmp).expect("create");
    f.write_all(b"snapshot").expect("write");
    f.sync_all().expect("fsync");
    drop(f);
    fs::rename(&tmp, mnt.join("sub/snap")).expect("rename");

    // A truncation is data: not durable until an fsync.
    let cut = OpenOptions::new()
        .write(true)
        .open(mnt.join("sub/snap"))
        .expect("open");
    cut.set_len(3).expect("truncate");
    assert_eq!(read(&mnt.join("sub/snap")), b"sna");
    drop(cut);
    fs.power_loss();
    assert_eq!(read(&mnt.join("sub/snap")), b"snapshot");
    assert!(!tmp.exists());
    // The backing directory holds exactly the durable state.
    assert_eq!(read(&dir.path().join("backing/sub/snap")), b"snapshot");

    // A rename that fails (a non-empty directory as target) changes nothing.
    fs::create_dir_all(mnt.join("full/inner")).expect("mkdir");
    let mut pending = File::create(mnt.join("full/inner/p")).expect("create");
    pending.write_all(b"unsynced").expect("write");
    drop(pending);
    assert!(fs::remove_dir(mnt.join("full")).is_err(), "not empty");
    assert_eq!(read(&mnt.join("full/inner/p")), b"unsynced");
    fs::rename(mnt.join("full/inner/p"), mnt.join("full/inner/p")).expect("rename onto itself");
    assert_eq!(read(&mnt.join("full/inner/p")), b"unsynced");
    fs::remove_file(mnt.join("full/inner/p")).expect("unlink");
    fs::remove_dir(mnt.join("full/inner")).expect("rmdir");
    fs::remove_dir(mnt.join("full")).expect("rmdir");

    let names: Vec<_> = fs::read_dir(mnt.join("sub"))
        .expect("readdir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["snap"]);
    fs::remove_file(mnt.join("sub/snap")).expect("unlink");
    fs::remove_dir(mnt.join("sub")).expect("rmdir");
    assert!(!dir.path().join("backing/sub").exists());
}

/// The binary: mounted until SIGTERM, SIGUSR1 is a power loss.
#[test]
fn the_binary_drops_unsynced_writes_on_sigusr1() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().expect("tempdir");
    let mnt = dir.path().join("mnt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenure-lossyfs"))
        .arg(dir.path().join("backing"))
        .arg(&mnt)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn tenure-lossyfs");
    let pid = Pid::from_raw(child.id() as i32);
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.starts_with("mounted"), "{first}");

    let mut f = File::create(mnt.join("f")).expect("create");
    f.write_all(b"kept").expect("write");
    f.sync_all().expect("fsync");
    f.write_all(b" lost").expect("write");
    drop(f);
    assert_eq!(read(&mnt.join("f")), b"kept lost");

    kill(pid, Signal::SIGUSR1).expect("SIGUSR1");
    let line = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(line.starts_with("power-loss"), "{line}");
    assert!(line.contains("bytes_dropped: 5"), "{line}");
    assert_eq!(read(&mnt.join("f")), b"kept");

    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
    assert_eq!(read(&dir.path().join("backing/f")), b"kept");
}
