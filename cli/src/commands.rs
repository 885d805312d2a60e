//! The client subcommands of `tenure`: run a command under a lock, and read and
//! administer a cluster. Human output by default, `--json` for scripts.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::PathBuf;

use tenure::{AcquireOptions, Client, ClientOptions, ErrorKind, LockInfo, TlsOptions};

use tenure_server::controls::{self, Control};
use tenure_server::store::backup;

/// Default endpoints: the ones `tenure dev` listens on.
pub const DEFAULT_ENDPOINTS: &str = "127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102";

/// Exit code of `tenure lock` when the lock is lost while the command runs.
pub const EXIT_LOCK_LOST: u8 = 75;
/// Exit code of `tenure lock` stopped by SIGINT (the command is stopped too).
const EXIT_INTERRUPTED: u8 = 130;
/// Exit code of `tenure lock` stopped by SIGTERM (the command is stopped too).
const EXIT_TERMINATED: u8 = 143;

/// Where the cluster is and how to print.
#[derive(Args, Clone)]
pub struct ConnectArgs {
    /// Cluster endpoints, HOST:PORT,...
    #[arg(long, env = "TENURE_ENDPOINTS", default_value = DEFAULT_ENDPOINTS, global = true)]
    pub endpoints: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// CA certificate of the servers (enables TLS).
    #[arg(long, env = "TENURE_CA", global = true)]
    pub ca: Option<PathBuf>,
    /// Client certificate (mutual TLS).
    #[arg(long, env = "TENURE_CERT", global = true, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Key of the client certificate.
    #[arg(long, env = "TENURE_KEY", global = true, requires = "cert")]
    pub key: Option<PathBuf>,
    /// Name to verify in the servers' certificates (default: the endpoint host).
    #[arg(long, env = "TENURE_SERVER_NAME", global = true)]
    pub server_name: Option<String>,
    /// Bearer token.
    #[arg(long, env = "TENURE_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
}

impl ConnectArgs {
    /// Client options with this command line's security settings.
    pub fn options(&self) -> ClientOptions {
        let tls = (self.ca.is_some() || self.cert.is_some()).then(|| TlsOptions {
            ca_file: self.ca.clone(),
            cert_file: self.cert.clone(),
            key_file: self.key.clone(),
            server_name: self.server_name.clone(),
        });
        ClientOptions {
            tls,
            token: self.token.clone(),
            ..ClientOptions::default()
        }
    }
}

/// Client subcommands.
#[derive(Subcommand)]
pub enum ClientCmd {
    /// Run COMMAND while holding a lock; kill it if the lock is lost.
    Lock(LockArgs),
    /// Run COMMAND while holding permits of a counting semaphore (at most
    /// PERMITS holders' worth at a time); kill it if they are lost.
    Semaphore(SemaphoreArgs),
    /// Run COMMAND as the elected leader of NAME: campaign with --value (this
    /// node's address, say), run COMMAND once elected, resign when it exits;
    /// kill it if leadership is lost.
    Elect(ElectArgs),
    /// Print the leader of election NAME, then every change (`none` when the
    /// leader goes away), until interrupted or --count changes.
    Observe {
        /// Election name.
        name: String,
        /// Stop after this many lines (0: never).
        #[arg(long, default_value_t = 0)]
        count: u64,
    },
    /// Print every change of the locks under PREFIX as it happens, until
    /// interrupted or --count changes.
    Watch {
        /// Lock name prefix ("" for every lock).
        #[arg(default_value = "")]
        prefix: String,
        /// Resume after this revision (from an earlier watch); 0 prints the
        /// current state first.
        #[arg(long = "from", default_value_t = 0)]
        from_revision: u64,
        /// Stop after this many changes (0: never).
        #[arg(long, default_value_t = 0)]
        count: u64,
    },
    /// Show every node's view of the cluster.
    Status {
        /// Exit with status 1 unless every endpoint answers and knows a
        /// leader (a readiness probe: `tenure status --ready --endpoints
        /// 127.0.0.1:7100`).
        #[arg(long)]
        ready: bool,
    },
    /// List locks (optionally under a name prefix).
    Locks {
        /// Name prefix.
        #[arg(default_value = "")]
        prefix: String,
    },
    /// List sessions.
    Sessions,
    /// Show one lock's holders and waiters.
    Describe {
        /// Lock name.
        name: String,
    },
    /// Admin: free a lock if OWNER still holds it (compare-and-swap).
    ForceRelease {
        /// Lock name.
        name: String,
        /// Owner id of the grant to free (from `tenure describe`).
        #[arg(long)]
        owner: String,
        /// Why (kept in the audit log).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Ask the holders of a lock to release it (they decide; nothing is
    /// freed). Needs lock permission on the name.
    RequestRelease {
        /// Lock name.
        name: String,
        /// Ask only this grant (owner id from `tenure describe`).
        #[arg(long)]
        owner: Option<String>,
        /// Why (kept in the audit log).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Admin: blacklist a session (never renewed; expires at its deadline).
    Blacklist {
        /// Session id.
        session: u64,
        /// Why (kept in the audit log).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Admin: add or remove a voting member.
    #[command(subcommand)]
    Members(MembersCmd),
    /// Admin: back up the cluster's state, or seed a new cluster from a backup.
    #[command(subcommand)]
    Snapshot(SnapshotCmd),
    /// Admin: show recent admin actions.
    Audit {
        /// How many records.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// `tenure members ...`.
#[derive(Subcommand)]
pub enum MembersCmd {
    /// Add a node (started with `tenure server --join`) as a voting member;
    /// returns once it has caught up.
    Add {
        /// The node's id (its --id).
        id: u64,
        /// Its listen address, HOST:PORT.
        addr: String,
    },
    /// Remove a voting member (then stop its process).
    Remove {
        /// The node's id.
        id: u64,
    },
}

/// `tenure snapshot ...`.
#[derive(Subcommand)]
pub enum SnapshotCmd {
    /// Save a consistent copy of the cluster's state (locks, sessions, the
    /// token counter; everything committed before the call) to FILE.
    Save {
        /// Where to write it (replaced only once the whole copy is verified).
        file: PathBuf,
    },
    /// Offline: seed the empty data directory of one member of a NEW cluster
    /// from FILE. Run it for every member with the same FILE and --peers, then
    /// start each with `tenure server` and the same --peers.
    Restore {
        /// A file written by `tenure snapshot save`.
        file: PathBuf,
        /// The new node's data directory (missing or empty).
        #[arg(long)]
        data_dir: PathBuf,
        /// The new node's id (one of the ids in --peers).
        #[arg(long)]
        id: u64,
        /// Every member of the new cluster: ID=HOST:PORT,...
        #[arg(long)]
        peers: String,
    },
}

/// Arguments of `tenure lock`.
#[derive(Args)]
pub struct LockArgs {
    /// Lock name.
    pub name: String,
    /// Session TTL.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
    /// How long to wait for the lock (0 = try once).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Take the lock in shared mode.
    #[arg(long)]
    pub shared: bool,
    /// Also hold this lock (repeat for more): every lock is taken at once or
    /// none (`acquire_all`), and COMMAND is stopped if any is lost.
    #[arg(long = "and", value_name = "NAME")]
    pub also: Vec<String>,
    /// A small value stored with the grant, shown by `describe` and `locks`
    /// (this host's address, a job id; at most 1,024 bytes).
    #[arg(long, default_value = "")]
    pub value: String,
    /// The signal sent to COMMAND's process group when someone asks for the
    /// lock (`tenure request-release`), for example TERM or USR1: the lock
    /// stays held until COMMAND exits. Without it the request is only logged.
    #[arg(long, value_parser = parse_signal)]
    pub revoke_signal: Option<nix::sys::signal::Signal>,
    /// How long COMMAND gets between SIGTERM and SIGKILL when the lock is about
    /// to be lost (bounded so that it is dead by the session's local expiry).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub kill_grace: Duration,
    /// The command to run (after `--`).
    #[arg(required = true, last = true)]
    pub command: Vec<String>,
}

/// Arguments of `tenure semaphore`: those of `tenure lock` (not --shared) and
/// the semaphore's size.
#[derive(Args)]
pub struct SemaphoreArgs {
    /// The semaphore's number of permits (fixed while anyone holds or waits
    /// for it: a different number is refused).
    #[arg(long)]
    pub permits: u32,
    /// How many permits COMMAND takes.
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// As for `tenure lock`.
    #[command(flatten)]
    pub lock: LockArgs,
}

/// A signal by name, with or without the SIG prefix (TERM, SIGUSR1).
fn parse_signal(name: &str) -> Result<nix::sys::signal::Signal, String> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse()
        .map_err(|_| format!("{name:?} is not a signal name (TERM, INT, HUP, USR1, ...)"))
}

/// Arguments of `tenure elect`: those of `tenure lock` (not --shared), where
/// --timeout bounds each campaign.
#[derive(Args)]
pub struct ElectArgs {
    /// Campaign again after each --timeout until elected.
    #[arg(long)]
    pub forever: bool,
    /// As for `tenure lock`; --value is what observers see.
    #[command(flatten)]
    pub lock: LockArgs,
}

/// What `run_lock` takes: a lock, permits of a semaphore, or leadership.
#[derive(Clone, Copy)]
enum Hold {
    Lock,
    /// count, limit
    Permits(u32, u32),
    /// Campaign again after a timeout when `forever`.
    Leadership {
        forever: bool,
    },
}

fn print<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", text(value));
    }
    Ok(())
}

/// ` permits=N` for a semaphore's holder or waiter.
fn permits_field(permits: u32) -> String {
    if permits == 0 {
        String::new()
    } else {
        format!(" permits={permits}")
    }
}

/// ` value="..."` when a grant or waiter has a value (quoted: it may hold spaces).
fn value_field(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!(" value={value:?}")
    }
}

fn lock_lines(locks: &[LockInfo]) -> String {
    let mut out = String::new();
    for l in locks {
        if l.permit_limit > 0 {
            out.push_str(&format!(
                "{} (semaphore of {} permits)\n",
                l.name, l.permit_limit
            ));
        } else {
            out.push_str(&format!("{}\n", l.name));
        }
        for h in &l.holders {
            out.push_str(&format!(
                "  holder  session={} token={} owner={} mode={:?}{}{}\n",
                h.session_id,
                h.token,
                h.owner_id,
                h.mode,
                permits_field(h.permits),
                value_field(&h.value)
            ));
        }
        for w in &l.waiters {
            out.push_str(&format!(
                "  waiter  session={} request={} mode={:?}{}{}\n",
                w.session_id,
                w.request_id,
                w.mode,
                permits_field(w.permits),
                value_field(&w.value)
            ));
        }
        if l.delayed_until_ms > 0 {
            out.push_str(&format!(
                "  lock-delay until {} (unix ms)\n",
                l.delayed_until_ms
            ));
        }
    }
    if locks.is_empty() {
        out.push_str("(no locks)\n");
    }
    out
}

/// Runs a client subcommand.
pub async fn run(cmd: ClientCmd, conn: ConnectArgs) -> anyhow::Result<ExitCode> {
    if let ClientCmd::Lock(args) = cmd {
        return run_lock(args, Hold::Lock, &conn).await;
    }
    if let ClientCmd::Semaphore(args) = cmd {
        if args.lock.shared {
            anyhow::bail!("--shared is for locks; a semaphore counts permits");
        }
        return run_lock(args.lock, Hold::Permits(args.count, args.permits), &conn).await;
    }
    if let ClientCmd::Elect(args) = cmd {
        if args.lock.shared {
            anyhow::bail!("--shared is for locks; an election has one leader");
        }
        let hold = Hold::Leadership {
            forever: args.forever,
        };
        return run_lock(args.lock, hold, &conn).await;
    }
    if let ClientCmd::Snapshot(SnapshotCmd::Restore {
        file,
        data_dir,
        id,
        peers,
    }) = &cmd
    {
        let peers = tenure_server::node::parse_peers(peers)?;
        let summary = backup::restore(file, data_dir, *id, &peers)?;
        print(conn.json, &summary, |s| {
            format!(
                "restored {} into {} for node {id}: index {}, {} sessions, {} locks, next token above {}\n",
                file.display(),
                data_dir.display(),
                s.index,
                s.sessions,
                s.locks,
                s.last_token
            )
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let client = Client::connect_lazy(conn.endpoints.split(','), conn.options())?;
    let json = conn.json;
    match cmd {
        ClientCmd::Lock(_)
        | ClientCmd::Semaphore(_)
        | ClientCmd::Elect(_)
        | ClientCmd::Snapshot(SnapshotCmd::Restore { .. }) => {
            unreachable!("handled above")
        }
        ClientCmd::Snapshot(SnapshotCmd::Save { file }) => {
            let summary = save_snapshot(&client, &file).await?;
            print(json, &summary, |s| {
                format!(
                    "saved {}: index {}, {} sessions, {} locks, last token {}\n",
                    file.display(),
                    s.index,
                    s.sessions,
                    s.locks,
                    s.last_token
                )
            })?;
        }
        ClientCmd::Status { ready } => {
            let mut views = Vec::new();
            for endpoint in client.endpoints() {
                match client.node_status(&endpoint).await {
                    Ok(s) => views.push(serde_json::json!({"endpoint": endpoint, "status": s})),
                    Err(e) => views
                        .push(serde_json::json!({"endpoint": endpoint, "error": e.to_string()})),
                }
            }
            print(json, &views, |views| {
                let mut out = String::new();
                for v in views {
                    let endpoint = v["endpoint"].as_str().unwrap_or("?");
                    match v.get("status") {
                        Some(s) => out.push_str(&format!(
                            "{endpoint}  node {} {:<9} term {} leader {} log {} commit {} applied {} sessions {} locks {}\n",
                            s["node_id"], s["role"].as_str().unwrap_or("?"), s["term"], s["leader_id"],
                            s["last_log_index"], s["commit_index"], s["applied_index"], s["sessions"], s["locks"]
                        )),
                        None => out.push_str(&format!("{endpoint}  unreachable: {}\n", v["error"].as_str().unwrap_or("?"))),
                    }
                }
                out
            })?;
            let knows_leader = |v: &serde_json::Value| {
                v.get("status")
                    .and_then(|s| s["leader_id"].as_u64())
                    .is_some_and(|id| id != 0)
            };
            if ready && !views.iter().all(knows_leader) {
                std::process::exit(1);
            }
        }
        ClientCmd::Locks { prefix } => {
            let locks = client.list_locks(&prefix).await?;
            print(json, &locks, |l| lock_lines(l))?;
        }
        ClientCmd::Sessions => {
            let sessions = client.list_sessions().await?;
            print(json, &sessions, |sessions| {
                let mut out = String::new();
                for s in sessions {
                    out.push_str(&format!(
                        "{:>8}  ttl {:>6}ms  left {:>6}ms  {}{}  holds [{}]  waiting {}\n",
                        s.session_id,
                        s.ttl.as_millis(),
                        s.remaining.as_millis(),
                        s.label,
                        if s.blacklisted { " BLACKLISTED" } else { "" },
                        s.held.join(", "),
                        s.waiting
                    ));
                }
                if sessions.is_empty() {
                    out.push_str("(no sessions)\n");
                }
                out
            })?;
        }
        ClientCmd::Describe { name } => {
            let lock = client.describe(&name).await?;
            print(json, &lock, |l| match l {
                Some(l) => lock_lines(std::slice::from_ref(l)),
                None => format!("{name}: free\n"),
            })?;
        }
        ClientCmd::ForceRelease {
            name,
            owner,
            reason,
        } => {
            let granted = client.force_release(&name, &owner, &reason).await?;
            print(json, &granted, |g| {
                let mut out = format!("released {name} (owner {owner})\n");
                for grant in g {
                    out.push_str(&format!(
                        "granted to session {} with token {}\n",
                        grant.session_id, grant.token
                    ));
                }
                out
            })?;
        }
        ClientCmd::Watch {
            prefix,
            from_revision,
            count,
        } => watch(&client, &prefix, from_revision, count, json).await?,
        ClientCmd::Observe { name, count } => observe(&client, &name, count, json).await?,
        ClientCmd::RequestRelease {
            name,
            owner,
            reason,
        } => {
            let asked = client
                .request_release(&name, owner.as_deref(), &reason)
                .await?;
            print(json, &asked, |a| {
                if a.is_empty() {
                    return format!("nobody holds {name} (or not that grant): nobody asked\n");
                }
                a.iter()
                    .map(|g| {
                        format!(
                            "asked session {} (token {}, owner {}) to release {name}\n",
                            g.session_id, g.token, g.owner_id
                        )
                    })
                    .collect()
            })?;
        }
        ClientCmd::Blacklist { session, reason } => {
            let left = client.blacklist(session, &reason).await?;
            let value =
                serde_json::json!({"session": session, "expires_in_ms": left.as_millis() as u64});
            print(json, &value, |_| {
                format!(
                    "session {session} blacklisted; it expires in {} ms\n",
                    left.as_millis()
                )
            })?;
        }
        ClientCmd::Members(cmd) => {
            let members = match cmd {
                MembersCmd::Add { id, addr } => client.add_member(id, &addr).await?,
                MembersCmd::Remove { id } => client.remove_member(id).await?,
            };
            print(json, &members, |members| {
                let mut out = String::from("voting members:\n");
                for m in members {
                    out.push_str(&format!("  node {}  {}\n", m.id, m.addr));
                }
                out
            })?;
        }
        ClientCmd::Audit { limit } => {
            let records = client.audit(limit).await?;
            print(json, &records, |records| {
                let mut out = String::new();
                for r in records {
                    out.push_str(&format!(
                        "{}  {:<13} by {:?} on {}: {}\n",
                        r.at_ms, r.action, r.principal, r.target, r.detail
                    ));
                }
                if records.is_empty() {
                    out.push_str("(no audit records)\n");
                }
                out
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tenure snapshot save`: streams the state into a temp file beside `file`,
/// verifies it as a snapshot, fsyncs it, and only then renames it to `file`.
async fn save_snapshot(client: &Client, file: &std::path::Path) -> anyhow::Result<backup::Summary> {
    use anyhow::Context;
    let name = file
        .file_name()
        .with_context(|| format!("{} is not a file name", file.display()))?;
    let mut temp_name = name.to_owned();
    temp_name.push(".partial");
    let temp = file.with_file_name(temp_name);
    let result = async {
        let mut out = tokio::fs::File::create(&temp)
            .await
            .with_context(|| format!("cannot create {}", temp.display()))?;
        client.save_snapshot(&mut out).await?;
        out.sync_all().await?;
        let check = temp.clone();
        let summary = tokio::task::spawn_blocking(move || backup::inspect(&check)).await??;
        tokio::fs::rename(&temp, file)
            .await
            .with_context(|| format!("cannot rename {} to {}", temp.display(), file.display()))?;
        anyhow::Ok(summary)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

/// `tenure lock`: acquire, run the command with the fence in its environment,
/// kill it if the lock is lost, release when it exits.
/// Runs `tenure lock`, or `tenure semaphore` with `permits` (count, limit).
async fn run_lock(args: LockArgs, hold: Hold, conn: &ConnectArgs) -> anyhow::Result<ExitCode> {
    let options = ClientOptions {
        ttl: args.ttl,
        ..conn.options()
    };
    let client = Client::connect(conn.endpoints.split(','), options).await?;
    let mut acquire = if args.timeout.is_zero() {
        AcquireOptions::try_once()
    } else {
        AcquireOptions::wait(args.timeout)
    };
    if args.shared {
        acquire = acquire.shared();
    }
    if let Hold::Permits(count, limit) = hold {
        acquire = acquire.permits(count, limit);
    }
    acquire = acquire.with_value(args.value.clone());
    let forever = matches!(hold, Hold::Leadership { forever: true });
    let taken = if args.also.is_empty() {
        acquire_until(&client, &args.name, acquire, forever)
            .await
            .map(|l| vec![l])
    } else {
        if !matches!(hold, Hold::Lock) {
            anyhow::bail!("--and is for locks only");
        }
        let names: Vec<&str> = std::iter::once(args.name.as_str())
            .chain(args.also.iter().map(String::as_str))
            .collect();
        client.acquire_all(&names, acquire).await
    };
    let locks = match taken {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::LockHeld || e.kind() == ErrorKind::Timeout => {
            eprintln!("tenure: {e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let lock = &locks[0];
    let fence = lock.fence();
    let fences: Vec<String> = locks.iter().map(|l| l.fence().header_value()).collect();
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("no command given"))?;
    let mut child = tokio::process::Command::new(program)
        .args(rest)
        .env("TENURE_LOCK", lock.name())
        .env("TENURE_FENCE", fence.header_value())
        .env("TENURE_FENCING_TOKEN", lock.fencing_token().to_string())
        .env("TENURE_OWNER_ID", lock.owner_id())
        .env("TENURE_SESSION_ID", lock.session_id().to_string())
        // Every lock held (with --and), comma-separated LOCK=TOKEN.
        .env("TENURE_FENCES", fences.join(","))
        // Its own process group, so that stopping it stops its children too.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run {program}: {e}"))?;
    let code = supervise(&mut child, &locks, &client, &args).await?;
    Ok(code)
}

/// Acquires once, or (`forever`) again after each timeout.
async fn acquire_until(
    client: &Client,
    name: &str,
    options: AcquireOptions,
    forever: bool,
) -> tenure::Result<tenure::Lock> {
    loop {
        match client.acquire(name, options.clone()).await {
            Err(e) if forever && e.kind() == ErrorKind::Timeout => continue,
            other => return other,
        }
    }
}

/// `tenure watch`: one line (or JSON object) per change, the state first.
async fn watch(
    client: &Client,
    prefix: &str,
    from_revision: u64,
    count: u64,
    json: bool,
) -> anyhow::Result<()> {
    let watcher = client.watch(prefix, from_revision)?;
    let mut printed = 0u64;
    while count == 0 || printed < count {
        let batch = watcher.next().await?;
        if batch.reset {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"revision": batch.revision, "reset": true, "locks": batch.locks})
                );
            } else {
                print!(
                    "state at revision {}:\n{}",
                    batch.revision,
                    lock_lines(&batch.locks)
                );
            }
        }
        for e in batch.events {
            if json {
                println!("{}", serde_json::to_string(&e)?);
            } else {
                println!(
                    "{} {} {} session={} token={} owner={}{}{}",
                    e.revision,
                    e.change,
                    e.name,
                    e.session_id,
                    e.token,
                    e.owner_id,
                    permits_field(e.permits),
                    value_field(&e.value)
                );
            }
            printed += 1;
            if count != 0 && printed >= count {
                break;
            }
        }
    }
    Ok(())
}

/// `tenure observe`: one line (or JSON value) per leader, `none` when it goes.
async fn observe(client: &Client, name: &str, count: u64, json: bool) -> anyhow::Result<()> {
    let observer = client.election(name)?.observe();
    let mut printed = 0u64;
    while count == 0 || printed < count {
        let leader = observer.next().await?;
        match (&leader, json) {
            (_, true) => println!("{}", serde_json::to_string(&leader)?),
            (Some(l), false) => println!(
                "leader session={} token={} owner={}{}",
                l.session_id,
                l.token,
                l.owner_id,
                value_field(&l.value)
            ),
            (None, false) => println!("none"),
        }
        printed += 1;
    }
    Ok(())
}

/// The longest SIGTERM-to-SIGKILL grace that a healthy session never triggers:
/// half of what is left of the local lease just before a renewal lands.
fn bounded_grace(wanted: Duration, options: &ClientOptions) -> Duration {
    let slack = options
        .usable_lease()
        .saturating_sub(options.keepalive_interval());
    wanted.min(slack / 2)
}

/// Waits for COMMAND to exit, releasing the lock then. COMMAND must be dead
/// before anyone else can be granted the lock: once the local expiry is less
/// than the grace away (renewals are failing), its process group gets SIGTERM,
/// and SIGKILL at the local expiry at the latest, which is at least the margin
/// before the server can expire the session (G3). A loss noticed first
/// (force-release, blacklist), or SIGINT/SIGTERM to `tenure lock` itself,
/// stops it the same way.
async fn supervise(
    child: &mut tokio::process::Child,
    locks: &[tenure::Lock],
    client: &Client,
    args: &LockArgs,
) -> anyhow::Result<ExitCode> {
    // One session holds them all: the first one's expiry is every one's.
    let Some(lock) = locks.first() else {
        anyhow::bail!("no lock held");
    };
    let kill_grace = args.kill_grace;
    use tokio::signal::unix::{SignalKind, signal};
    use tokio::time::{Instant, sleep_until};
    let late = controls::active(Control::LateKill);
    let grace = bounded_grace(kill_grace, client.options());
    let (mut interrupt, mut terminate) = (
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    );
    let mut revoke_seen = false;
    let code = loop {
        let stop_at = lock
            .local_expiry()
            .checked_sub(grace)
            .unwrap_or_else(Instant::now);
        tokio::select! {
            status = child.wait() => {
                let status = status?;
                for lock in locks {
                    lock.release().await?;
                }
                client.close().await?;
                return Ok(ExitCode::from(status.code().map_or(1, |c| c.clamp(0, 255) as u8)));
            }
            (name, reason) = first_lost(locks) => {
                eprintln!("tenure: lock {name} lost ({reason}); stopping the command");
                let kill_at = if late {
                    Instant::now() + kill_grace
                } else {
                    (Instant::now() + grace).min(lock.local_expiry())
                };
                stop_group(child, kill_at).await;
                break EXIT_LOCK_LOST;
            }
            _ = sleep_until(stop_at), if !late => {
                if lock.local_expiry().checked_sub(grace).is_some_and(|t| t > Instant::now()) {
                    continue; // renewed meanwhile
                }
                eprintln!(
                    "tenure: renewals of the session are failing; stopping the command before lock {} can expire",
                    lock.name()
                );
                stop_group(child, lock.local_expiry()).await;
                break EXIT_LOCK_LOST;
            }
            asked = first_revoke_requested(locks), if !revoke_seen => {
                revoke_seen = true;
                pass_on_revoke_request(child, asked, args.revoke_signal);
            }
            _ = interrupt.recv() => {
                stop_group(child, (Instant::now() + grace).min(lock.local_expiry())).await;
                break EXIT_INTERRUPTED;
            }
            _ = terminate.recv() => {
                stop_group(child, (Instant::now() + grace).min(lock.local_expiry())).await;
                break EXIT_TERMINATED;
            }
        }
    };
    // Let go on the server if it still can be reached soon; otherwise the
    // session expires there by itself.
    let _ = tokio::time::timeout(Duration::from_secs(2), client.close()).await;
    Ok(ExitCode::from(code))
}

/// The first of `locks` to be lost, and why.
async fn first_lost(locks: &[tenure::Lock]) -> (String, tenure::LostReason) {
    let losses = locks
        .iter()
        .map(|l| Box::pin(async move { (l.name().to_owned(), l.lost().await) }));
    futures::future::select_all(losses).await.0
}

/// The first of `locks` whose holder is asked to release.
async fn first_revoke_requested(locks: &[tenure::Lock]) -> &tenure::Lock {
    let asks = locks.iter().map(|l| {
        Box::pin(async move {
            l.revoke_requested().await;
            l
        })
    });
    futures::future::select_all(asks).await.0
}

/// Tells COMMAND that someone asked for the lock: `signal` to its process
/// group, or only a line on stderr. The lock stays held until it exits.
fn pass_on_revoke_request(
    child: &tokio::process::Child,
    lock: &tenure::Lock,
    signal: Option<nix::sys::signal::Signal>,
) {
    let (Some(signal), Some(pid)) = (signal, child.id()) else {
        eprintln!(
            "tenure: someone asked for lock {} (tenure request-release); it stays held until the command exits",
            lock.name()
        );
        return;
    };
    eprintln!(
        "tenure: someone asked for lock {}; sending {signal} to the command",
        lock.name()
    );
    let group = nix::unistd::Pid::from_raw(pid as i32);
    let _ = nix::sys::signal::killpg(group, signal);
}

/// SIGTERM to the command's process group now, SIGKILL to it at `kill_at` if
/// the command still runs; returns once the command exited.
async fn stop_group(child: &mut tokio::process::Child, kill_at: tokio::time::Instant) {
    use nix::sys::signal::{Signal, killpg};
    let Some(pid) = child.id() else { return };
    let group = nix::unistd::Pid::from_raw(pid as i32);
    let _ = killpg(group, Signal::SIGTERM);
    if tokio::time::timeout_at(kill_at, child.wait())
        .await
        .is_err()
    {
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait().await;
    }
}
