//! Load with many clients, each a `tenure::Client` on its own connections:
//! waiting acquires, try-locks, cancelled waits (dropped futures), waits that
//! time out, releases, drops and session closes, on one hot lock and on many.
//!
//! A run passes only if every operation finished, or failed with an expected
//! typed error, within its deadline; every node answered `status` throughout;
//! no client believed it held a lock another client was granted; tokens of
//! consecutive holders rose; and after every client closed, no lock, waiter or
//! session of the run was left on the server.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tenure::{Client, ClientOptions, ErrorKind, Lock};
use tokio::time::Instant;

/// Lock names of a run start with this.
pub const PREFIX: &str = "stress/";
/// Sessions of a run are labelled with this prefix.
const LABEL: &str = "stress-client-";

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct StressConfig {
    /// Concurrent clients, each with its own connections and session.
    pub clients: usize,
    /// How long they loop.
    pub duration: Duration,
    /// Lock names besides the one hot lock that half the operations use.
    pub locks: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Session TTL of the clients.
    pub ttl: Duration,
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct StressReport {
    /// Finished operations, by "operation outcome".
    pub operations: BTreeMap<String, u64>,
    /// Operations that did not finish within their deadline.
    pub overdue: Vec<String>,
    /// Errors of a kind the operation should never fail with here.
    pub unexpected: Vec<String>,
    /// A client granted a lock while another still believed it held it, or a
    /// token not above the previous holder's.
    pub exclusion: Vec<String>,
    /// `status` calls that a node did not answer.
    pub status_failures: Vec<String>,
    /// Locks, waiters or sessions of the run left after every client closed.
    pub leftovers: Vec<String>,
    /// Latency of each finished operation, in microseconds.
    pub latencies_us: Vec<u64>,
}

impl StressReport {
    /// Every problem found (empty: the run passed).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let ops: u64 = self.operations.values().sum();
        if ops == 0 {
            out.push("no operation finished".to_owned());
        }
        for (what, list) in [
            ("overdue", &self.overdue),
            ("unexpected error", &self.unexpected),
            ("exclusion", &self.exclusion),
            ("status unanswered", &self.status_failures),
            ("left over", &self.leftovers),
        ] {
            out.extend(list.iter().take(20).map(|p| format!("{what}: {p}")));
            if list.len() > 20 {
                out.push(format!("{what}: ... {} in all", list.len()));
            }
        }
        out
    }

    /// A one-paragraph summary with latency percentiles (not asserted).
    pub fn summary(&self) -> String {
        let mut l = self.latencies_us.clone();
        l.sort_unstable();
        let pct = |p: f64| {
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0)
                / 1_000
        };
        format!(
            "operations {:?}; latency ms p50 {} p99 {} max {}; problems {}",
            self.operations,
            pct(0.5),
            pct(0.99),
            l.last().copied().unwrap_or(0) / 1_000,
            self.problems().len()
        )
    }
}

/// The believed holder of each exclusive lock, and the last token granted.
#[derive(Default)]
struct Holders {
    by_lock: Mutex<HashMap<String, (Option<Lock>, u64)>>,
    problems: Mutex<Vec<String>>,
}

impl Holders {
    fn granted(&self, client: usize, lock: &Lock) {
        let mut by_lock = self.by_lock.lock();
        let (holder, last) = by_lock.entry(lock.name().to_owned()).or_default();
        if let Some(h) = holder
            && h.is_held()
        {
            self.problems.lock().push(format!(
                "client {client} granted {} (token {}) while token {} is still believed held",
                lock.name(),
                lock.fencing_token(),
                h.fencing_token()
            ));
        }
        if lock.fencing_token() <= *last {
            self.problems.lock().push(format!(
                "{}: token {} after {}",
                lock.name(),
                lock.fencing_token(),
                last
            ));
        }
        *last = lock.fencing_token().max(*last);
        *holder = Some(lock.clone());
    }

    /// Called before the holder lets go.
    fn letting_go(&self, lock: &Lock) {
        let mut by_lock = self.by_lock.lock();
        if let Some((holder, _)) = by_lock.get_mut(lock.name())
            && holder.as_ref().map(Lock::owner_id) == Some(lock.owner_id())
        {
            *holder = None;
        }
    }
}

/// Runs the load against `endpoints`, probing `nodes` (each node's own
/// address) with `status` throughout.
pub async fn run(endpoints: &[String], nodes: &[String], cfg: &StressConfig) -> StressReport {
    crate::detect_deadlocks();
    crate::client_logs();
    let options = ClientOptions {
        ttl: cfg.ttl,
        ..ClientOptions::default()
    };
    let holders = Arc::new(Holders::default());
    let report = Arc::new(Mutex::new(StressReport::default()));
    let stop_at = Instant::now() + cfg.duration;

    let prober = tokio::spawn(probe_status(nodes.to_vec(), stop_at, report.clone()));
    let mut tasks = Vec::new();
    for i in 0..cfg.clients {
        let options = ClientOptions {
            label: Some(format!("{LABEL}{i}")),
            ..options.clone()
        };
        let (endpoints, holders, report, cfg) = (
            endpoints.to_vec(),
            holders.clone(),
            report.clone(),
            cfg.clone(),
        );
        tasks.push(tokio::spawn(async move {
            client_loop(i, endpoints, options, &cfg, stop_at, &holders, &report).await;
        }));
    }
    for t in tasks {
        if let Err(e) = t.await {
            report
                .lock()
                .unexpected
                .push(format!("client task failed: {e}"));
        }
    }
    let _ = prober.await;
    check_leftovers(endpoints, &report).await;
    let mut report = std::mem::take(&mut *report.lock());
    report.exclusion = std::mem::take(&mut *holders.problems.lock());
    report
}

async fn probe_status(nodes: Vec<String>, stop_at: Instant, report: Arc<Mutex<StressReport>>) {
    let probe = match Client::connect_lazy(nodes.clone(), ClientOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            report.lock().status_failures.push(e.to_string());
            return;
        }
    };
    while Instant::now() < stop_at {
        for addr in &nodes {
            if let Err(e) = probe.node_status(addr).await {
                report.lock().status_failures.push(format!("{addr}: {e}"));
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One operation a client can do.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Wait in the queue (up to a second), hold briefly, release.
    Wait,
    /// Try once; release if granted.
    Try,
    /// Wait, but drop the future after a short while (a cancelled wait).
    Cancel,
    /// A short wait on the hot lock, which mostly times out on the server.
    ShortWait,
    /// Wait, hold, and drop the handle without releasing (release on drop).
    Drop,
    /// Close the session; the next operation opens a fresh one.
    Close,
}

impl Op {
    fn draw(rng: &mut StdRng) -> Op {
        match rng.random_range(0..100) {
            0..30 => Op::Wait,
            30..55 => Op::Try,
            55..70 => Op::Cancel,
            70..85 => Op::ShortWait,
            85..95 => Op::Drop,
            _ => Op::Close,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Wait => "wait",
            Op::Try => "try",
            Op::Cancel => "cancelled wait",
            Op::ShortWait => "short wait",
            Op::Drop => "drop",
            Op::Close => "close",
        }
    }

    /// Error kinds this operation may end with when nothing is faulty.
    fn may_fail_with(self, kind: ErrorKind) -> bool {
        match self {
            Op::Try => kind == ErrorKind::LockHeld,
            Op::Wait | Op::ShortWait | Op::Drop | Op::Cancel => kind == ErrorKind::Timeout,
            Op::Close => false,
        }
    }
}

async fn client_loop(
    i: usize,
    endpoints: Vec<String>,
    options: ClientOptions,
    cfg: &StressConfig,
    stop_at: Instant,
    holders: &Holders,
    report: &Mutex<StressReport>,
) {
    let mut rng = StdRng::seed_from_u64(cfg.seed ^ ((i as u64) << 20));
    let call_timeout = options.call_timeout;
    let client = match Client::connect(endpoints, options).await {
        Ok(c) => c,
        Err(e) => {
            report
                .lock()
                .unexpected
                .push(format!("client {i} connect: {e}"));
            return;
        }
    };
    while Instant::now() < stop_at {
        let op = Op::draw(&mut rng);
        let name = if rng.random_bool(0.5) {
            format!("{PREFIX}hot")
        } else {
            format!("{PREFIX}{}", rng.random_range(0..cfg.locks.max(1)))
        };
        let wait = Duration::from_millis(rng.random_range(50..1_000));
        let hold = Duration::from_millis(rng.random_range(0..20));
        let deadline = wait + call_timeout * 2;
        let started = Instant::now();
        let outcome = tokio::time::timeout(
            deadline,
            one_op(op, &client, &name, wait, hold, &mut rng, i, holders),
        )
        .await;
        let elapsed = started.elapsed();
        let mut r = report.lock();
        let key = match outcome {
            Err(_) => {
                r.overdue.push(format!(
                    "client {i}: {} {name} after {elapsed:?}",
                    op.name()
                ));
                continue;
            }
            Ok(Ok(what)) => format!("{} {what}", op.name()),
            Ok(Err(kind)) if op.may_fail_with(kind) => format!("{} {}", op.name(), kind.code()),
            Ok(Err(kind)) => {
                r.unexpected
                    .push(format!("client {i}: {} {name}: {}", op.name(), kind.code()));
                format!("{} {}", op.name(), kind.code())
            }
        };
        *r.operations.entry(key).or_default() += 1;
        r.latencies_us.push(elapsed.as_micros() as u64);
    }
    if let Err(e) = client.close().await {
        report
            .lock()
            .unexpected
            .push(format!("client {i} close: {e}"));
    }
}

/// Does one operation; Ok names how it went.
#[allow(clippy::too_many_arguments)]
async fn one_op(
    op: Op,
    client: &Client,
    name: &str,
    wait: Duration,
    hold: Duration,
    rng: &mut StdRng,
    i: usize,
    holders: &Holders,
) -> Result<&'static str, ErrorKind> {
    let lock = match op {
        Op::Close => {
            client.close().await.map_err(|e| e.kind())?;
            return Ok("ok");
        }
        Op::Try => client.try_lock(name).await,
        Op::Wait | Op::Drop => client.lock(name, wait).await,
        Op::ShortWait => {
            let short = Duration::from_millis(rng.random_range(10..100));
            client.lock(name, short).await
        }
        Op::Cancel => {
            let patience = Duration::from_millis(rng.random_range(5..200));
            match tokio::time::timeout(patience, client.lock(name, Duration::from_secs(5))).await {
                Ok(result) => result,
                Err(_) => return Ok("dropped"),
            }
        }
    }
    .map_err(|e| e.kind())?;
    holders.granted(i, &lock);
    tokio::time::sleep(hold).await;
    holders.letting_go(&lock);
    if matches!(op, Op::Drop) {
        drop(lock);
        return Ok("granted");
    }
    lock.release().await.map_err(|e| e.kind())?;
    Ok("granted")
}

/// After every client closed: no lock, waiter or session of the run may stay
/// (background releases and cancels get ten seconds to land).
async fn check_leftovers(endpoints: &[String], report: &Mutex<StressReport>) {
    let admin = match Client::connect_lazy(endpoints.to_vec(), ClientOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            report.lock().leftovers.push(e.to_string());
            return;
        }
    };
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let left = leftovers(&admin).await;
        if left.as_ref().is_ok_and(Vec::is_empty) {
            return;
        }
        if Instant::now() >= give_up {
            report.lock().leftovers = left.unwrap_or_else(|e| vec![e.to_string()]);
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn leftovers(admin: &Client) -> tenure::Result<Vec<String>> {
    let locks = admin.list_locks(PREFIX).await?;
    let sessions = admin.list_sessions().await?;
    let locks = locks.iter().map(|l| {
        format!(
            "lock {} with {} holders and {} waiters",
            l.name,
            l.holders.len(),
            l.waiters.len()
        )
    });
    let sessions = sessions
        .iter()
        .filter(|s| s.label.starts_with(LABEL))
        .map(|s| format!("session {} ({})", s.session_id, s.label));
    Ok(locks.chain(sessions).collect())
}
