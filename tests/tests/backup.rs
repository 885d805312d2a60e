//! Backup and restore against real server processes: `tenure snapshot save`
//! from a running cluster, `tenure snapshot restore` into the data directories
//! of a fresh cluster, and that cluster serving the saved locks, sessions and
//! token counter (the next token is above every token granted before the save).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tenure::{AcquireOptions, Client, ClientOptions, ErrorKind};
use tenure_server::security::auth::hash_token;
use tenure_tests::{Cluster, eventually, tenure_bin};

const LEADER_WAIT: Duration = Duration::from_secs(15);

fn access_file(dir: &Path) -> String {
    let text = format!(
        r#"
[[principal]]
name = "ops"
token_sha256 = "{}"
rules = [{{ prefix = "", allow = ["admin"] }}]

[[principal]]
name = "jobs"
token_sha256 = "{}"
rules = [{{ prefix = "jobs/", allow = ["lock"] }}]
"#,
        hash_token("ops-token"),
        hash_token("jobs-token"),
    );
    let path = dir.join("access.toml");
    std::fs::write(&path, text).expect("write the access file");
    path.display().to_string()
}

fn client(endpoints: Vec<String>, token: Option<&str>, ttl: Duration) -> Client {
    let options = ClientOptions {
        ttl,
        token: token.map(str::to_owned),
        ..ClientOptions::default()
    };
    Client::connect_lazy(endpoints, options).expect("client")
}

/// Runs `tenure ARGS`; returns stdout, failing the test with stderr otherwise.
fn tenure(args: &[&str]) -> String {
    let out = Command::new(tenure_bin())
        .args(args)
        .output()
        .expect("run tenure");
    assert!(
        out.status.success(),
        "tenure {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_restored_from_a_saved_snapshot_serves_its_locks_sessions_and_tokens() {
    let setup = tempfile::tempdir().expect("tempdir");
    let access = access_file(setup.path());
    let a = Cluster::start_with(3, &["--auth-file", &access]);
    // Two sessions; tokens 1..=4 granted, three grants still held.
    let ttl = Duration::from_secs(60);
    let ops = client(a.endpoints(), Some("ops-token"), ttl);
    let leader = eventually(LEADER_WAIT, || async {
        for addr in a.endpoints() {
            if ops
                .node_status(&addr)
                .await
                .is_ok_and(|s| s.role == "leader")
            {
                return Some(addr);
            }
        }
        None
    })
    .await;
    assert!(leader.is_some(), "no leader\n{}", a.logs());
    let jobs = client(a.endpoints(), Some("jobs-token"), ttl);
    let held_a = ops.try_lock("jobs/a").await.expect("jobs/a");
    let released = ops.try_lock("jobs/tmp").await.expect("jobs/tmp");
    released.release().await.expect("release");
    let held_b = jobs.try_lock("jobs/b").await.expect("jobs/b");
    let held_c = jobs
        .acquire("jobs/c", AcquireOptions::try_once().shared())
        .await
        .expect("jobs/c");
    let highest = held_c.fencing_token();
    assert_eq!(highest, 4);
    let sessions_before = session_ids(&ops).await;
    assert_eq!(sessions_before.len(), 2);

    // Only an admin may save.
    let mut sink = Vec::new();
    let denied = jobs
        .save_snapshot(&mut sink)
        .await
        .expect_err("jobs is no admin");
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied, "{denied}");
    assert!(sink.is_empty());

    let file = setup.path().join("backup.snap");
    let file_arg = file.display().to_string();
    let saved = tenure(&[
        "--endpoints",
        &a.endpoints_csv(),
        "--token",
        "ops-token",
        "snapshot",
        "save",
        &file_arg,
    ]);
    assert!(
        saved.contains("2 sessions, 3 locks, last token 4"),
        "{saved}"
    );
    // The save is audited (the record is proposed in the background).
    let audited = eventually(LEADER_WAIT, || async {
        let records = ops.audit(100).await.ok()?;
        records
            .iter()
            .any(|r| r.action == "snapshot-save" && r.principal == "ops")
            .then_some(())
    })
    .await;
    assert!(audited.is_some(), "no snapshot-save audit record");

    // A fresh cluster on new addresses and directories, seeded from the file.
    let mut b = Cluster::unstarted(3, &[]);
    for id in 1..=3u64 {
        let dir = b.data_dir(id).display().to_string();
        let out = tenure(&[
            "snapshot",
            "restore",
            &file_arg,
            "--data-dir",
            &dir,
            "--id",
            &id.to_string(),
            "--peers",
            b.peers(),
        ]);
        assert!(out.contains("next token above 4"), "{out}");
    }
    // Restoring over a directory that holds data is refused.
    let again = Command::new(tenure_bin())
        .args(["snapshot", "restore", &file_arg, "--data-dir"])
        .arg(b.data_dir(1))
        .args(["--id", "1", "--peers", b.peers()])
        .output()
        .expect("run tenure");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    b.restart_all();
    b.wait_for_leader(LEADER_WAIT).await;
    check_restored(&b, &sessions_before, [&held_a, &held_b, &held_c], highest).await;

    // The seeded state is durable: it survives a restart of every node.
    b.kill_all();
    b.restart_all();
    b.wait_for_leader(LEADER_WAIT).await;
    check_restored(
        &b,
        &sessions_before,
        [&held_a, &held_b, &held_c],
        highest + 1,
    )
    .await;
}

/// The saved grants are held in `b` with their tokens and owners, the saved
/// sessions are live, and a new grant gets a token above `above`.
async fn check_restored(b: &Cluster, sessions: &[u64], held: [&tenure::Lock; 3], above: u64) {
    let admin = client(b.endpoints(), None, Duration::from_secs(10));
    for lock in held {
        let info = admin
            .describe(lock.name())
            .await
            .expect("describe")
            .unwrap_or_else(|| panic!("{} is not held in the restored cluster", lock.name()));
        assert_eq!(info.holders.len(), 1, "{info:?}");
        let holder = &info.holders[0];
        assert_eq!(holder.token, lock.fencing_token(), "{info:?}");
        assert_eq!(holder.owner_id, lock.owner_id(), "{info:?}");
        assert_eq!(holder.session_id, lock.session_id(), "{info:?}");
    }
    let restored = session_ids(&admin).await;
    assert_eq!(restored, sessions);
    let status = admin.status().await.expect("status");
    assert!(status.next_token > above, "{status:?}");

    let newcomer = client(b.endpoints(), None, Duration::from_secs(10));
    let err = newcomer.try_lock("jobs/a").await.expect_err("still held");
    assert_eq!(err.kind(), ErrorKind::LockHeld, "{err}");
    let fresh = newcomer.try_lock("jobs/new").await.expect("a new lock");
    assert!(
        fresh.fencing_token() > above,
        "token {} after a restore of tokens up to {above}",
        fresh.fencing_token()
    );
    fresh.release().await.expect("release");
    newcomer.close().await.expect("close");
}

/// The ids of every live session, sorted.
async fn session_ids(client: &tenure::Client) -> Vec<u64> {
    let mut ids: Vec<u64> = client
        .list_sessions()
        .await
        .expect("sessions")
        .iter()
        .map(|s| s.session_id)
        .collect();
    ids.sort_unstable();
    ids
}
