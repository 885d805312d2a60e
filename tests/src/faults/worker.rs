//! A fault-run worker process: loops acquire, fenced writes, hold, release, and
//! prints its history (JSON lines) on stdout.

use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use tenure::{AcquireOptions, Client, ClientOptions, LostReason};
use tenure_server::controls::{self, Control};

use super::drift;
use super::history::{Event, instant_ns, mono_ns};
use crate::fenced::{FencedStore, Write};

/// Worker settings.
#[derive(Clone)]
pub struct WorkerConfig {
    /// This worker process's number.
    pub id: u32,
    /// Clients in this process, each with its own connections and session;
    /// client k's history carries the number `id * clients + k`.
    pub clients: u32,
    /// Endpoints (through this worker's links).
    pub endpoints: Vec<String>,
    /// The fenced store.
    pub db: std::path::PathBuf,
    /// How many lock names to contend on.
    pub locks: u32,
    /// Session TTL.
    pub ttl: Duration,
    /// How long to run.
    pub duration: Duration,
    /// Random seed.
    pub seed: u64,
}

/// The semaphore every worker also takes one permit of, now and then (one
/// acquire in `SEMAPHORE_EVERY`): at most `SEMAPHORE_PERMITS` may believe they
/// hold a permit at once (checker: "semaphore holders beyond its permits").
pub const SEMAPHORE: &str = "fault-sem/0";
/// Its number of permits.
pub const SEMAPHORE_PERMITS: u32 = 2;
const SEMAPHORE_EVERY: u32 = 4;
/// The election every worker also campaigns in, now and then (one acquire in
/// `ELECTION_EVERY` of those that are not of the semaphore): its leaders are
/// a lock's holders (the overlap and token checks), and every worker process
/// observes it (checker: "observer saw leaders out of token order").
pub const ELECTION: &str = "fault-elect/0";
const ELECTION_EVERY: u32 = 4;
/// One in `ALL_EVERY` of the remaining acquires takes two locks at once
/// (`acquire_all`): all-or-nothing grants meet every fault too, and their
/// holds enter the same overlap and token checks as single ones.
const ALL_EVERY: u32 = 4;

fn emit(e: &Event) {
    if let Ok(line) = serde_json::to_string(e) {
        println!("{line}");
    }
}

fn lost_name(r: LostReason) -> String {
    r.to_string()
}

/// Runs every client's loop until `duration` passes; fails if any client failed.
pub async fn run(cfg: WorkerConfig) -> anyhow::Result<()> {
    let observer = {
        let cfg = cfg.clone();
        tokio::spawn(async move { observe(&cfg).await })
    };
    let tasks: Vec<_> = (0..cfg.clients.max(1))
        .map(|k| {
            let cfg = cfg.clone();
            tokio::spawn(async move { run_client(&cfg, cfg.id * cfg.clients.max(1) + k).await })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    observer.await??;
    Ok(())
}

/// Observes the election for the run's duration with a client of its own,
/// recording each leader the observer reports (token 0: nobody leads).
async fn observe(cfg: &WorkerConfig) -> anyhow::Result<()> {
    let client = connect(&cfg.endpoints, &client_options(cfg, u32::MAX), cfg.duration).await?;
    let observer = client.election(ELECTION)?.observe();
    let stop_at = tokio::time::Instant::now() + cfg.duration;
    loop {
        match tokio::time::timeout_at(stop_at, observer.next()).await {
            Err(_) => break,
            Ok(Ok(leader)) => emit(&Event::Observed {
                worker: cfg.id,
                at: mono_ns(),
                token: leader.as_ref().map_or(0, |l| l.token),
                session: leader.as_ref().map_or(0, |l| l.session_id),
            }),
            // Unreachable for the call timeout (a partition): the observer
            // resumes from its revision on the next call.
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "observe failed; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    observer.close();
    let _ = client.close().await;
    Ok(())
}

/// The client options of client `me` of a worker process.
fn client_options(cfg: &WorkerConfig, me: u32) -> ClientOptions {
    let options = ClientOptions {
        ttl: cfg.ttl,
        call_timeout: Duration::from_secs(3),
        attempt_timeout: Duration::from_millis(700),
        label: Some(format!("fault-worker-{me}")),
        // Every route to a node is this worker's link through the fault
        // network; a leader hint naming a node's own address would go around it.
        endpoints_only: true,
        ..ClientOptions::default()
    };
    if controls::active(Control::ZeroMarginAndDrift) {
        ClientOptions {
            drift: 0.0,
            margin: Duration::ZERO,
            ..options
        }
    } else {
        options
    }
}

/// One client's loop: acquire, fenced writes, hold, release.
async fn run_client(cfg: &WorkerConfig, me: u32) -> anyhow::Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed ^ u64::from(me) << 32);
    let options = client_options(cfg, me);
    // This process's clocks may drift (libfaketime); its history is stamped
    // on the real clock, and the local expiry converted to it.
    let rate = drift::process_rate();
    let client = connect(&cfg.endpoints, &options, cfg.duration).await?;
    let mut store = open_store(&cfg.db)?;
    let stop_at = Instant::now() + cfg.duration;
    while Instant::now() < stop_at {
        let target = Target::draw(&mut rng, cfg.locks);
        let invoke = mono_ns();
        let result = target.acquire(&client, me).await;
        let complete = mono_ns();
        let locks = match result {
            Ok(l) => l,
            Err(e) => {
                for name in &target.names {
                    emit(&Event::Acquire {
                        worker: me,
                        lock: name.clone(),
                        invoke,
                        complete,
                        ok: false,
                        token: 0,
                        session: 0,
                        error: Some(e.to_string()),
                        permits_of: target.permits_of,
                    });
                }
                tokio::time::sleep(Duration::from_millis(rng.random_range(20..100))).await;
                continue;
            }
        };
        for lock in &locks {
            emit(&Event::Acquire {
                worker: me,
                lock: lock.name().to_owned(),
                invoke,
                complete,
                ok: true,
                token: lock.fencing_token(),
                session: lock.session_id(),
                error: None,
                permits_of: target.permits_of,
            });
        }
        if target.election && rng.random_range(0..2) == 0 {
            // Proclaim: observers see the same leader (token) with a new value.
            for lock in &locks {
                let _ = lock
                    .set_value(&format!("worker-{me} at {}", mono_ns()))
                    .await;
            }
        }
        let hold_until = Instant::now() + Duration::from_millis(rng.random_range(30..300));
        while Instant::now() < hold_until && locks.iter().all(|l| l.is_held()) {
            // Checked: held. Now write with the token; a pause right here is
            // what the fencing check is for, so the worker spends a while
            // between the check and the write (a pause-client fault lands in
            // this window often, and the write then arrives stale).
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..40))).await;
            if target.permits_of > 0 {
                // Permits guard a resource of N users; nothing to fence here.
                continue;
            }
            for lock in &locks {
                let at = mono_ns();
                // SQLite blocks (on its file lock): off the runtime's heartbeats.
                let accepted = matches!(
                    tokio::task::block_in_place(|| store.write(
                        lock.name(),
                        lock.fencing_token(),
                        &me.to_string()
                    )),
                    Ok(Write::Accepted)
                );
                emit(&Event::Write {
                    worker: me,
                    lock: lock.name().to_owned(),
                    token: lock.fencing_token(),
                    at,
                    accepted,
                });
            }
            tokio::time::sleep(Duration::from_millis(rng.random_range(5..30))).await;
        }
        for lock in &locks {
            let_go(lock, me, cfg.id, complete, target.permits_of, rate).await;
        }
    }
    let session = client.session_id().await.unwrap_or(0);
    let closed = client.close().await;
    emit(&Event::Closed {
        worker: me,
        session,
        error: closed.as_ref().err().map(ToString::to_string),
    });
    Ok(())
}

/// What one round of a client's loop acquires.
struct Target {
    names: Vec<String>,
    /// The semaphore's permits (one is taken), 0 for locks.
    permits_of: u32,
    election: bool,
}

impl Target {
    /// One acquire in `SEMAPHORE_EVERY` is a permit of the semaphore; of the
    /// others, one in `ELECTION_EVERY` a campaign, one in `ALL_EVERY` two
    /// locks at once (`acquire_all`), the rest one lock.
    fn draw(rng: &mut rand::rngs::StdRng, locks: u32) -> Target {
        let lock = |rng: &mut rand::rngs::StdRng| format!("fault/{}", rng.random_range(0..locks));
        let (names, permits_of, election) = if rng.random_range(0..SEMAPHORE_EVERY) == 0 {
            (vec![SEMAPHORE.to_owned()], SEMAPHORE_PERMITS, false)
        } else if rng.random_range(0..ELECTION_EVERY) == 0 {
            (vec![ELECTION.to_owned()], 0, true)
        } else if locks > 1 && rng.random_range(0..ALL_EVERY) == 0 {
            let first = lock(rng);
            let mut second = lock(rng);
            while second == first {
                second = lock(rng);
            }
            (vec![first, second], 0, false)
        } else {
            (vec![lock(rng)], 0, false)
        };
        Target {
            names,
            permits_of,
            election,
        }
    }

    async fn acquire(&self, client: &Client, me: u32) -> tenure::Result<Vec<tenure::Lock>> {
        let wait = Duration::from_secs(2);
        if self.election {
            let election = client.election(ELECTION)?;
            return Ok(vec![
                election.campaign(&format!("worker-{me}"), wait).await?,
            ]);
        }
        let mut options = AcquireOptions::wait(wait);
        if self.permits_of > 0 {
            options = options.permits(1, self.permits_of);
        }
        match self.names.as_slice() {
            [one] => Ok(vec![client.acquire(one, options).await?]),
            many => {
                let names: Vec<&str> = many.iter().map(String::as_str).collect();
                client.acquire_all(&names, options).await
            }
        }
    }
}

/// Records a hold of `lock` granted at `complete` (its belief interval, and
/// the session's loss if it was lost), then releases it.
async fn let_go(
    lock: &tenure::Lock,
    me: u32,
    process: u32,
    complete: u64,
    permits_of: u32,
    rate: f64,
) {
    let (name, token, session) = (
        lock.name().to_owned(),
        lock.fencing_token(),
        lock.session_id(),
    );
    let release_invoke = mono_ns();
    // The belief ends when it lets go, or at its local expiry if lost.
    let expiry = instant_ns(lock.local_expiry(), rate);
    let (belief_end, lost) = match lock.lost_reason() {
        None => (release_invoke, None),
        Some(r) => (expiry.min(release_invoke), Some(lost_name(r))),
    };
    emit(&Event::Hold {
        worker: me,
        lock: name.clone(),
        token,
        session,
        grant: complete,
        belief_end,
        lost: lost.clone(),
        permits_of,
    });
    if let Some(reason) = lost {
        emit(&Event::SessionLost {
            worker: me,
            process,
            session,
            at: belief_end,
            reason,
            early: expiry > release_invoke,
        });
    }
    let ok = lock.release().await.is_ok();
    emit(&Event::Release {
        worker: me,
        lock: name,
        token,
        invoke: release_invoke,
        complete: mono_ns(),
        ok,
    });
}

async fn connect(
    endpoints: &[String],
    options: &ClientOptions,
    within: Duration,
) -> anyhow::Result<Client> {
    let deadline = Instant::now() + within;
    loop {
        match Client::connect(endpoints, options.clone()).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "connect failed; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn open_store(path: &Path) -> anyhow::Result<FencedStore> {
    Ok(FencedStore::open(path)?)
}
