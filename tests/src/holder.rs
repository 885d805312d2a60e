//! A lock holder in its own process (`src/bin/tenure-test-holder.rs`), for
//! tests that kill -9 or SIGSTOP a client.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::unistd::Pid;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::Cluster;

/// A running `tenure-test-holder`.
pub struct Holder {
    /// The process (killed when dropped).
    pub child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Holder {
    /// Starts `bin` (the test's `env!("CARGO_BIN_EXE_tenure-test-holder")`)
    /// holding `lock` with `ttl_ms`, fenced writes going to `db`; returns it
    /// with its `acquired` event.
    pub async fn start(
        bin: &str,
        cluster: &Cluster,
        lock: &str,
        ttl_ms: u64,
        db: &Path,
    ) -> (Holder, Value) {
        let mut child = tokio::process::Command::new(bin)
            .args([&cluster.endpoints_csv(), lock, &ttl_ms.to_string()])
            .arg(db)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn holder");
        let stdout = child.stdout.take().expect("stdout");
        let mut holder = Holder {
            child,
            lines: BufReader::new(stdout).lines(),
        };
        let acquired = holder.next_event(Duration::from_secs(20)).await;
        assert_eq!(acquired["event"], "acquired", "{acquired}");
        (holder, acquired)
    }

    /// The next JSON event it prints, within `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Value {
        let line = tokio::time::timeout(timeout, self.lines.next_line())
            .await
            .expect("holder event in time")
            .expect("holder stdout")
            .expect("holder exited early");
        serde_json::from_str(&line).expect("json event")
    }

    /// Its process id.
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id().expect("running") as i32)
    }
}
