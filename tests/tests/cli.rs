//! Tests of the `tenure` command's client subcommands against a real cluster.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tenure_tests::{Cluster, eventually, tenure_bin};

const LEADER_WAIT: Duration = Duration::from_secs(10);

fn tenure(cluster: &Cluster, args: &[&str]) -> std::process::Output {
    Command::new(tenure_bin())
        .args(args)
        .env("TENURE_ENDPOINTS", cluster.endpoints_csv())
        .output()
        .expect("run tenure")
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

#[tokio::test]
async fn lock_runs_the_command_with_its_fence_and_returns_its_exit_code() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let out = tenure(
        &cluster,
        &[
            "lock",
            "cli/job",
            "--ttl",
            "3s",
            "--",
            "sh",
            "-c",
            "echo \"$TENURE_FENCE $TENURE_FENCING_TOKEN\"; exit 3",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut parts = stdout.split_whitespace();
    let fence = parts.next().expect("fence");
    let token: u64 = parts.next().expect("token").parse().expect("number");
    assert_eq!(fence, format!("cli/job={token}"));
    // Released on exit: free again.
    let described = json(&tenure(&cluster, &["describe", "cli/job", "--json"]));
    assert!(described.is_null(), "{described}");
}

#[tokio::test]
async fn lock_kills_the_command_when_an_admin_force_releases_it() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let mut child = Command::new(tenure_bin())
        .args(["lock", "cli/long", "--ttl", "3s", "--", "sleep", "60"])
        .env("TENURE_ENDPOINTS", cluster.endpoints_csv())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tenure lock");
    let owner = eventually(Duration::from_secs(10), || async {
        let v = json(&tenure(&cluster, &["describe", "cli/long", "--json"]));
        v["holders"][0]["owner_id"].as_str().map(str::to_owned)
    })
    .await
    .expect("the lock is held");
    let status = json(&tenure(&cluster, &["status", "--json"]));
    let leaders = status
        .as_array()
        .expect("array")
        .iter()
        .filter(|n| n["status"]["role"] == "leader")
        .count();
    assert_eq!(leaders, 1, "{status}");
    let out = tenure(
        &cluster,
        &[
            "force-release",
            "cli/long",
            "--owner",
            &owner,
            "--reason",
            "test",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exited = eventually(Duration::from_secs(10), || {
        let done = child.try_wait().expect("wait");
        async move { done }
    })
    .await
    .expect("tenure lock did not stop after the force-release");
    assert_eq!(exited.code(), Some(75));
    let audit = json(&tenure(&cluster, &["audit", "--json"]));
    assert!(
        audit
            .as_array()
            .expect("array")
            .iter()
            .any(|r| r["action"] == "force-release")
    );
    // Bad input: a typed error and a non-zero exit.
    let out = tenure(
        &cluster,
        &["force-release", "cli/long", "--owner", "nothex"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("INVALID_ARGUMENT"));
}

#[tokio::test]
async fn sessions_and_locks_list_what_is_held() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let client = cluster.client(Duration::from_secs(5)).await;
    let _a = client.try_lock("list/a").await.expect("a");
    let _b = client.try_lock("other/b").await.expect("b");
    let locks = json(&tenure(&cluster, &["locks", "list/", "--json"]));
    let names: Vec<&str> = locks
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(names, vec!["list/a"]);
    let sessions = json(&tenure(&cluster, &["sessions", "--json"]));
    let mine = sessions
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["held"].as_array().is_some_and(|h| h.len() == 2))
        .expect("our session");
    let id = mine["session_id"].as_u64().expect("id");
    let out = tenure(&cluster, &["blacklist", &id.to_string(), "--json"]);
    assert!(json(&out)["expires_in_ms"].as_u64().expect("ms") <= 5_000);
}

/// Realtime nanoseconds (the shell's `date +%s%N` uses the same clock).
fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// A `tenure lock` holder whose command ignores SIGTERM and stamps a file every
/// 10 ms is cut off from a 1-node cluster (through a link that can be cut); a
/// second client waits for the lock. Returns (the command's last stamp, when
/// the second client was granted the lock), and checks that SIGTERM came.
async fn cut_off_holder(negative_control: Option<&str>) -> (u128, u128) {
    let cluster = Cluster::start(1);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let link = tenure_tests::faults::link::Link::start(cluster.node(1).addr.clone())
        .await
        .expect("link");
    let stamps = cluster.dir().join("stamps");
    let script = "trap 'echo term >> \"$STAMPS\"' TERM; \
                  while :; do date +%s%N >> \"$STAMPS\"; sleep 0.01; done";
    let mut holder = Command::new(tenure_bin());
    holder
        .args(["lock", "cli/cut", "--ttl", "2s", "--kill-grace", "1s"])
        .args(["--", "sh", "-c", script])
        .env("TENURE_ENDPOINTS", &link.addr)
        .env("STAMPS", &stamps)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(control) = negative_control {
        holder.env(tenure_server::controls::ENV, control);
    }
    let mut holder = holder.spawn().expect("spawn tenure lock");
    eventually(Duration::from_secs(10), || async {
        let lines = std::fs::read_to_string(&stamps).unwrap_or_default();
        (lines.lines().count() >= 5).then_some(())
    })
    .await
    .expect("the command runs under the lock");
    link.set_cut(true);
    let contender = cluster.client(Duration::from_secs(5)).await;
    let lock = contender
        .lock("cli/cut", Duration::from_secs(10))
        .await
        .expect("the next holder gets the lock");
    let granted = now_ns();
    let status = eventually(Duration::from_secs(10), || {
        let done = holder.try_wait().expect("wait");
        async move { done }
    })
    .await
    .expect("tenure lock exits");
    assert_eq!(status.code(), Some(75), "exit status of tenure lock");
    let _ = lock.release().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let text = std::fs::read_to_string(&stamps).expect("stamps");
    assert!(text.contains("term"), "the command got no SIGTERM:\n{text}");
    let last = text
        .lines()
        .filter_map(|l| l.trim().parse::<u128>().ok())
        .max()
        .expect("stamps");
    (last, granted)
}

#[tokio::test]
async fn lock_stops_a_command_that_ignores_sigterm_before_the_next_grant() {
    let (last, granted) = cut_off_holder(None).await;
    eprintln!(
        "the command's last write came {} ms before the next grant",
        (granted as i128 - last as i128) / 1_000_000
    );
    assert!(
        last < granted,
        "the command wrote {} ms after the next holder was granted the lock",
        (last - granted) / 1_000_000
    );
}

/// Negative control: stopping the command only once the loss is noticed, with
/// the whole kill grace, lets it outlive the lock, and the check above sees it.
#[tokio::test]
async fn negative_control_late_kill_outlives_the_lock() {
    let (last, granted) = cut_off_holder(Some("late-kill")).await;
    assert!(
        last > granted,
        "with late-kill the command should outlive the lock (last write {} ms before the grant)",
        (granted - last) / 1_000_000
    );
}

#[tokio::test]
async fn lock_value_is_shown_by_describe_and_list_while_the_command_runs() {
    let cluster = Cluster::start(1);
    cluster.wait_for_leader(LEADER_WAIT).await;
    // The command itself describes its lock: the value is there while it holds it.
    let out = tenure(
        &cluster,
        &[
            "lock",
            "cli/valued",
            "--value",
            "worker-7 at 10.0.0.7:8080",
            "--",
            "sh",
            "-c",
            "\"$0\" describe cli/valued --json && \"$0\" locks cli/",
            tenure_bin().to_str().expect("utf-8 path"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (described, listed) = stdout.split_once("\n}\n").expect("json, then the list");
    let described: Value = serde_json::from_str(&format!("{described}\n}}")).expect("json");
    assert_eq!(
        described["holders"][0]["value"], "worker-7 at 10.0.0.7:8080",
        "{described}"
    );
    assert!(
        listed.contains("value=\"worker-7 at 10.0.0.7:8080\""),
        "{listed}"
    );
    // A value over the limit is refused before anything is held.
    let long = "v".repeat(1_025);
    let out = tenure(
        &cluster,
        &["lock", "cli/valued", "--value", &long, "--", "true"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1024 bytes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn semaphore_runs_as_many_commands_as_it_has_permits() {
    let cluster = Cluster::start(1);
    cluster.wait_for_leader(LEADER_WAIT).await;
    // Two nested holders of a 2-permit semaphore; a third try fails with exit
    // status 1 while they hold it, and describe shows the two grants.
    let inner = "$T semaphore cli/sem --permits 2 --timeout 0 -- true; echo third=$?; \
                 $T describe cli/sem --json";
    let out = Command::new(tenure_bin())
        .args([
            "semaphore",
            "cli/sem",
            "--permits",
            "2",
            "--value",
            "outer",
            "--",
        ])
        .args([
            "sh",
            "-c",
            &format!("$T semaphore cli/sem --permits 2 -- sh -c '{inner}'"),
        ])
        .env("TENURE_ENDPOINTS", cluster.endpoints_csv())
        .env("T", tenure_bin())
        .output()
        .expect("run tenure");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (third, described) = stdout.split_once('\n').expect("two outputs");
    assert_eq!(third, "third=1", "{stdout}");
    let described: Value = serde_json::from_str(described).expect("json");
    assert_eq!(described["permit_limit"], 2, "{described}");
    let holders = described["holders"].as_array().expect("holders");
    assert_eq!(holders.len(), 2, "{described}");
    assert!(
        holders
            .iter()
            .all(|h| h["permits"] == 1 && h["mode"] == "permits")
    );
    assert_eq!(holders[0]["value"], "outer");
    // A different number of permits for the same name is refused while in use.
    let out = Command::new(tenure_bin())
        .args(["semaphore", "cli/sem", "--permits", "2", "--"])
        .args([
            "sh",
            "-c",
            "$T semaphore cli/sem --permits 3 --timeout 0 -- true",
        ])
        .env("TENURE_ENDPOINTS", cluster.endpoints_csv())
        .env("T", tenure_bin())
        .output()
        .expect("run tenure");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a semaphore of 2 permits"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn request_release_signals_the_holding_command_which_decides_to_exit() {
    let cluster = Cluster::start(1);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let out = tenure(&cluster, &["request-release", "cli/rev"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nobody asked"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The command traps USR1, says so, and exits 7: the lock stays held
    // until then.
    let holder = Command::new(tenure_bin())
        .args([
            "lock",
            "cli/rev",
            "--ttl",
            "2s",
            "--revoke-signal",
            "USR1",
            "--",
            "sh",
            "-c",
            "trap 'echo got-usr1; exit 7' USR1; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done",
        ])
        .env("TENURE_ENDPOINTS", cluster.endpoints_csv())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tenure lock");
    eventually(Duration::from_secs(10), || async {
        let described = json(&tenure(&cluster, &["describe", "cli/rev", "--json"]));
        (!described.is_null()).then_some(())
    })
    .await
    .expect("the command holds the lock");
    let asked = json(&tenure(
        &cluster,
        &["request-release", "cli/rev", "--reason", "deploy", "--json"],
    ));
    assert_eq!(asked.as_array().map(Vec::len), Some(1), "{asked}");
    let out = tokio::task::spawn_blocking(move || holder.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(7), "{stdout}{stderr}");
    assert!(stdout.contains("got-usr1"), "{stdout}");
    assert!(stderr.contains("sending SIGUSR1"), "{stderr}");
    let described = json(&tenure(&cluster, &["describe", "cli/rev", "--json"]));
    assert!(described.is_null(), "released on exit: {described}");
    let audit = json(&tenure(&cluster, &["audit", "--json"]));
    assert!(
        audit
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["action"] == "request-release")),
        "{audit}"
    );
    // A bad signal name is refused before anything is held.
    let out = tenure(
        &cluster,
        &["lock", "cli/rev", "--revoke-signal", "NOPE", "--", "true"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a signal name"));
}

/// Spawns `tenure ARGS` with piped stdout, and a reader of its lines.
fn spawn_lines(
    cluster: &Cluster,
    args: &[&str],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut child = Command::new(tenure_bin())
        .args(args)
        .env("TENURE_ENDPOINTS", cluster.endpoints_csv())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run tenure");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

fn next_line(lines: &std::sync::mpsc::Receiver<String>) -> String {
    lines
        .recv_timeout(Duration::from_secs(15))
        .expect("a line within 15 s")
}

#[tokio::test]
async fn watch_prints_the_state_then_each_change_and_observe_each_leader() {
    let cluster = Cluster::start(1);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let (mut watcher, lines) =
        spawn_lines(&cluster, &["watch", "cli/w/", "--count", "2", "--json"]);
    let state: Value = serde_json::from_str(&next_line(&lines)).expect("json");
    assert_eq!(state["reset"], true, "{state}");
    let out = tenure(
        &cluster,
        &["lock", "cli/w/x", "--value", "v7", "--", "true"],
    );
    assert!(out.status.success());
    let granted: Value = serde_json::from_str(&next_line(&lines)).expect("json");
    let released: Value = serde_json::from_str(&next_line(&lines)).expect("json");
    assert_eq!(
        (&granted["change"], &granted["name"], &granted["value"]),
        (
            &Value::from("granted"),
            &Value::from("cli/w/x"),
            &Value::from("v7")
        ),
        "{granted}"
    );
    assert_eq!(released["change"], "released", "{released}");
    assert!(released["revision"].as_u64() > granted["revision"].as_u64());
    assert!(
        watcher.wait().expect("wait").success(),
        "stops after --count"
    );

    // Observe: nobody leads, then the elected command's value, then nobody.
    let (mut observer, lines) = spawn_lines(&cluster, &["observe", "cli/e", "--count", "3"]);
    assert_eq!(next_line(&lines), "none");
    let out = tenure(
        &cluster,
        &[
            "elect",
            "cli/e",
            "--value",
            "node-1:8080",
            "--",
            "sh",
            "-c",
            "echo \"$TENURE_FENCING_TOKEN\"",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let leader = next_line(&lines);
    assert!(
        leader.starts_with("leader ")
            && leader.contains(&format!("token={token} "))
            && leader.contains("value=\"node-1:8080\""),
        "{leader}"
    );
    assert_eq!(
        next_line(&lines),
        "none",
        "the leader resigned when its command exited"
    );
    assert!(observer.wait().expect("wait").success());
}

#[tokio::test]
async fn lock_with_and_takes_every_lock_or_none() {
    let cluster = Cluster::start(1);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let out = tenure(
        &cluster,
        &[
            "lock",
            "cli/m1",
            "--and",
            "cli/m2",
            "--",
            "sh",
            "-c",
            "echo \"$TENURE_FENCES\"",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fences = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let parts: Vec<(&str, u64)> = fences
        .split(',')
        .filter_map(|f| f.split_once('='))
        .map(|(n, t)| (n, t.parse().expect("token")))
        .collect();
    assert_eq!(parts.len(), 2, "{fences}");
    assert_eq!((parts[0].0, parts[1].0), ("cli/m1", "cli/m2"));
    assert!(parts[1].1 > parts[0].1, "{fences}");
    // cli/m2 held elsewhere: one try of both fails and leaves cli/m1 free.
    let inner =
        "$T lock cli/m1 --and cli/m2 --timeout 0 -- true; echo both=$?; $T describe cli/m1 --json";
    let out = Command::new(tenure_bin())
        .args(["lock", "cli/m2", "--", "sh", "-c", inner])
        .env("T", tenure_bin())
        .env("TENURE_ENDPOINTS", cluster.endpoints_csv())
        .output()
        .expect("run tenure");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("both=1"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("null"),
        "cli/m1 must stay free: {stdout}"
    );
}
