//! The benchmark scenarios; each runs against one system's cluster.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cluster::{Cluster, cpu_seconds, rss_mib};
use crate::stats::{Percentiles, percentiles};
use crate::systems::{Session, System};

/// Session TTL used by the throughput and latency scenarios (both systems).
pub const TTL: Duration = Duration::from_secs(10);
/// TTL of the crash-handover scenario (etcd's minimum practical lease).
pub const CRASH_TTL: Duration = Duration::from_secs(2);

/// One acquire+release pair; false if either failed.
async fn pair(s: &Session, name: &str) -> bool {
    match s.lock(name, false).await {
        Ok(h) => s.unlock(h).await.is_ok(),
        Err(_) => false,
    }
}

/// Scenario 1: one client, acquire+release pairs on one lock.
pub async fn uncontended(
    system: System,
    cluster: &Cluster,
    pairs: usize,
) -> anyhow::Result<Percentiles> {
    let samples = pair_samples(system, cluster, "bench/uncontended", pairs.min(50), pairs).await?;
    Ok(percentiles(&samples))
}

/// One new session acquires and releases `lock` `warmup + pairs` times; the
/// latency of each of the last `pairs`.
pub async fn pair_samples(
    system: System,
    cluster: &Cluster,
    lock: &str,
    warmup: usize,
    pairs: usize,
) -> anyhow::Result<Vec<Duration>> {
    let s = Session::open(system, &cluster.endpoints(), TTL).await?;
    for _ in 0..warmup {
        let h = s.lock(lock, false).await?;
        s.unlock(h).await?;
    }
    let mut samples = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let t = Instant::now();
        let h = s.lock(lock, false).await?;
        s.unlock(h).await?;
        samples.push(t.elapsed());
    }
    Ok(samples)
}

/// Scenario 2 result.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Clients.
    pub clients: usize,
    /// Completed acquire+release pairs per second.
    pub pairs_per_s: f64,
    /// Pair latency.
    pub latency: Percentiles,
    /// Failed pairs.
    pub errors: u64,
}

/// Scenario 2: `clients` clients, a lock each, looping for `secs`.
pub async fn throughput(
    system: System,
    cluster: &Cluster,
    clients: usize,
    secs: Duration,
) -> anyhow::Result<Throughput> {
    let mut sessions = Vec::new();
    for _ in 0..clients {
        sessions.push(Session::open(system, &cluster.endpoints(), TTL).await?);
    }
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let stop = start + secs;
    let tasks: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let errors = errors.clone();
            tokio::spawn(async move {
                let name = format!("bench/tp/{i}");
                let mut samples = Vec::new();
                while Instant::now() < stop {
                    let t = Instant::now();
                    if pair(&s, &name).await {
                        samples.push(t.elapsed());
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                samples
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(Throughput {
        clients,
        pairs_per_s: all.len() as f64 / elapsed,
        latency: percentiles(&all),
        errors: errors.load(Ordering::Relaxed),
    })
}

/// Scenario 3 result.
#[derive(Debug, Clone, Serialize)]
pub struct Contention {
    /// Clients on the one lock.
    pub clients: usize,
    /// Grants per second.
    pub handovers_per_s: f64,
    /// Time each acquire waited.
    pub wait: Percentiles,
    /// Tokens strictly increase in the order grants were observed.
    pub tokens_increase: bool,
}

/// Scenario 3: `clients` clients contend for one lock for `secs`.
pub async fn contention(
    system: System,
    cluster: &Cluster,
    clients: usize,
    secs: Duration,
) -> anyhow::Result<Contention> {
    let mut sessions = Vec::new();
    for _ in 0..clients {
        sessions.push(Session::open(system, &cluster.endpoints(), TTL).await?);
    }
    let start = Instant::now();
    let stop = start + secs;
    // Grants are recorded while held, so their order is the grant order.
    let grants = Arc::new(parking_lot_lite::Mutex::new(Vec::new()));
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|s| {
            let grants = grants.clone();
            tokio::spawn(async move {
                let mut waits = Vec::new();
                while Instant::now() < stop {
                    let t = Instant::now();
                    let Ok(h) = s.lock("bench/contended", true).await else {
                        continue;
                    };
                    waits.push(t.elapsed());
                    grants.lock().push(h.token());
                    let _ = s.unlock(h).await;
                }
                waits
            })
        })
        .collect();
    let mut waits = Vec::new();
    for t in tasks {
        waits.extend(t.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let tokens = grants.lock().clone();
    Ok(Contention {
        clients,
        handovers_per_s: tokens.len() as f64 / elapsed,
        wait: percentiles(&waits),
        tokens_increase: tokens.windows(2).all(|w| w[0] < w[1]),
    })
}

/// A tiny mutex over std's, without poisoning surprises.
mod parking_lot_lite {
    /// A mutex.
    pub struct Mutex<T>(std::sync::Mutex<T>);
    impl<T> Mutex<T> {
        /// A new mutex.
        pub fn new(v: T) -> Self {
            Mutex(std::sync::Mutex::new(v))
        }
        /// Locks it.
        pub fn lock(&self) -> std::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }
}

/// Scenario 4 result.
#[derive(Debug, Clone, Serialize)]
pub struct Handover {
    /// TTL of both sessions.
    pub ttl_ms: u64,
    /// From kill -9 of the holder to the waiter's grant.
    pub after_ttl_ms: f64,
    /// Same with an admin force-release right after the kill (tenure).
    pub force_release_ms: Option<f64>,
}

/// Starts a holder process that acquires `name` and prints its token and owner.
async fn start_holder(
    bin: &Path,
    system: System,
    cluster: &Cluster,
    name: &str,
) -> anyhow::Result<(tokio::process::Child, String)> {
    let mut child = tokio::process::Command::new(bin)
        .args([
            "holder",
            "--system",
            system.name(),
            "--endpoints",
            &cluster.endpoints().join(","),
            "--lock",
            name,
        ])
        .args(["--ttl-ms", &CRASH_TTL.as_millis().to_string()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await??
        .ok_or_else(|| anyhow::anyhow!("holder exited"))?;
    let owner = line
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    Ok((child, owner))
}

/// Scenario 4: a holder process is killed while another client waits.
pub async fn crash_handover(
    system: System,
    cluster: &Cluster,
    bin: &Path,
) -> anyhow::Result<Handover> {
    let waiter = Session::open(system, &cluster.endpoints(), CRASH_TTL).await?;
    let measure = |name: &'static str, force: bool| {
        let waiter = waiter.clone();
        async move {
            let (mut holder, owner) = start_holder(bin, system, cluster, name).await?;
            let w = waiter.clone();
            let waiting =
                tokio::spawn(async move { w.lock(name, true).await.map(|h| (h, Instant::now())) });
            tokio::time::sleep(Duration::from_millis(300)).await;
            let killed = Instant::now();
            holder.start_kill()?;
            if force {
                waiter.force_release(name, &owner).await?;
            }
            let (h, granted) = waiting.await??;
            waiter.unlock(h).await?;
            anyhow::Ok(granted.duration_since(killed).as_secs_f64() * 1e3)
        }
    };
    let after_ttl_ms = measure("bench/crash", false).await?;
    let force_release_ms = match system {
        System::Tenure => Some(measure("bench/crash-force", true).await?),
        System::Etcd => None,
    };
    Ok(Handover {
        ttl_ms: CRASH_TTL.as_millis() as u64,
        after_ttl_ms,
        force_release_ms,
    })
}

/// Scenario 5 result.
#[derive(Debug, Clone, Serialize)]
pub struct Failover {
    /// Clients looping.
    pub clients: usize,
    /// Longest time with no completed pair, around the leader kill.
    pub longest_gap_ms: f64,
    /// Failed pairs.
    pub errors: u64,
    /// Sessions lost (expired) during the run.
    pub sessions_expired: usize,
}

/// Scenario 5: clients loop while the leader is killed.
pub async fn failover(
    system: System,
    cluster: &mut Cluster,
    clients: usize,
    secs: Duration,
) -> anyhow::Result<Failover> {
    let mut sessions = Vec::new();
    for _ in 0..clients {
        sessions.push(Session::open(system, &cluster.endpoints(), TTL).await?);
    }
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + secs;
    let tasks: Vec<_> = sessions
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, s)| {
            let errors = errors.clone();
            tokio::spawn(async move {
                let name = format!("bench/failover/{i}");
                let mut done = Vec::new();
                while Instant::now() < stop {
                    if pair(&s, &name).await {
                        done.push(Instant::now());
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                done
            })
        })
        .collect();
    tokio::time::sleep(secs / 3).await;
    let leader = cluster
        .leader()
        .await
        .ok_or_else(|| anyhow::anyhow!("no leader"))?;
    cluster.kill(leader);
    // Check that the kill forced an election (the one killed was the leader).
    let mut next = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        next = cluster.leader().await;
        if next.is_some() {
            break;
        }
    }
    anyhow::ensure!(
        next.is_some_and(|n| n != leader),
        "{}: no new leader after killing node {leader}",
        cluster.system
    );
    let mut done = Vec::new();
    for t in tasks {
        done.extend(t.await?);
    }
    done.sort();
    let longest = done
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    Ok(Failover {
        clients,
        longest_gap_ms: longest.as_secs_f64() * 1e3,
        errors: errors.load(Ordering::Relaxed),
        sessions_expired: sessions.iter().filter(|s| s.lost()).count(),
    })
}

/// Scenario 6 result.
#[derive(Debug, Clone, Serialize)]
pub struct Capacity {
    /// Sessions held.
    pub sessions: usize,
    /// Seconds they were kept alive.
    pub secs: f64,
    /// Server CPU (all nodes) while only keepalives ran, in cores.
    pub server_cores: f64,
    /// Resident memory of the leader, MiB.
    pub leader_rss_mib: f64,
    /// Keepalive message round trip.
    pub keepalive: Percentiles,
    /// Sessions that expired although renewed.
    pub spurious_expiries: usize,
}

/// Scenario 6 (tenure): open `n` sessions and keep them alive at the default
/// rate (every ttl/3) for `secs`, in batches of up to 5000 per message. Run it
/// on a fresh cluster: the sessions are left to expire.
pub async fn capacity(cluster: &Cluster, n: usize, secs: Duration) -> anyhow::Result<Capacity> {
    use tenure_proto::v1 as pb;
    let leader = cluster
        .leader()
        .await
        .ok_or_else(|| anyhow::anyhow!("no leader"))?;
    let addr = cluster.nodes[leader].addr.clone();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let stub = pb::tenure_client::TenureClient::new(channel);
    // Keepalives go on one stream, in messages of up to 5000 sessions.
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let mut answers = stub
        .clone()
        .keep_alive(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    let mut seq = 0u64;
    let mut samples = Vec::new();
    let mut expired = std::collections::HashSet::new();
    let interval = TTL / 3;
    let mut round = async |ids: &[u64], samples: &mut Vec<Duration>| -> anyhow::Result<()> {
        for chunk in ids.chunks(5_000) {
            seq += 1;
            let t = Instant::now();
            tx.send(pb::KeepAliveRequest {
                seq,
                session_ids: chunk.to_vec(),
            })
            .await?;
            let answer = answers
                .message()
                .await?
                .ok_or_else(|| anyhow::anyhow!("stream ended"))?;
            samples.push(t.elapsed());
            for l in answer.leases {
                if l.status != pb::LeaseStatus::LeaseOk as i32 {
                    expired.insert(l.session_id);
                }
            }
        }
        Ok(())
    };
    // Open in chunks, 64 at a time, renewing what is open so far as they go.
    use futures::StreamExt;
    let mut ids: Vec<u64> = Vec::with_capacity(n);
    let mut last_round = Instant::now();
    let mut warmup = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
        let opens = futures::stream::iter(chunk.iter().map(|_| {
            let mut stub = stub.clone();
            async move {
                let request = pb::OpenSessionRequest {
                    ttl_ms: TTL.as_millis() as u64,
                    label: "bench".into(),
                    open_id: rand::random::<[u8; 16]>().to_vec(),
                };
                // The server's session-open-rate limit answers RESOURCE_EXHAUSTED
                // when opens come faster: back off as a client would (bounded).
                let mut refused = 0;
                loop {
                    match stub.open_session(request.clone()).await {
                        Err(e) if e.code() == tonic::Code::ResourceExhausted && refused < 100 => {
                            refused += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        r => break r.map(|r| r.into_inner().session_id),
                    }
                }
            }
        }));
        let mut opens = opens.buffer_unordered(64);
        while let Some(r) = opens.next().await {
            match r {
                Ok(id) => ids.push(id),
                // A leader just elected may not have heard from a quorum yet.
                Err(e) if e.code() == tonic::Code::Unavailable => {}
                Err(e) => return Err(e.into()),
            }
        }
        if last_round.elapsed() >= interval {
            round(&ids, &mut warmup).await?;
            last_round = Instant::now();
        }
    }
    anyhow::ensure!(
        ids.len() * 10 >= n * 9,
        "only {} of {n} sessions opened",
        ids.len()
    );
    let n = ids.len();
    let pids = cluster.pids();
    let cpu0: f64 = pids.iter().map(|p| cpu_seconds(*p)).sum();
    let started = Instant::now();
    while started.elapsed() < secs {
        let t = Instant::now();
        round(&ids, &mut samples).await?;
        tokio::time::sleep(interval.saturating_sub(t.elapsed())).await;
    }
    let secs_run = started.elapsed().as_secs_f64();
    let cpu1: f64 = pids.iter().map(|p| cpu_seconds(*p)).sum();
    let status = stub
        .clone()
        .status(pb::StatusRequest {})
        .await?
        .into_inner();
    let missing = n.saturating_sub(status.sessions as usize);
    let rss = cluster.nodes[leader].pid().map_or(0.0, rss_mib);
    Ok(Capacity {
        sessions: n,
        secs: secs_run,
        server_cores: (cpu1 - cpu0) / secs_run,
        leader_rss_mib: rss,
        keepalive: percentiles(&samples),
        spurious_expiries: expired.len().max(missing),
    })
}
