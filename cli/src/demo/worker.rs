//! A demo worker process: contends for one lock and appends fenced records to
//! a SQLite table, reporting each step as a JSON line on stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use rand::Rng;
use serde_json::json;
use tenure::{Client, ClientOptions};

use super::fenced::{FencedStore, Write};

/// Arguments of `tenure demo-worker`.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Cluster endpoints.
    #[arg(long)]
    pub endpoints: String,
    /// The SQLite database file.
    #[arg(long)]
    pub db: PathBuf,
    /// The lock (and resource) name.
    #[arg(long)]
    pub lock: String,
    /// This worker's name.
    #[arg(long)]
    pub name: String,
    /// Session TTL.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
    /// Stop after this long.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub run_for: Duration,
}

fn emit(event: serde_json::Value) {
    println!("{event}");
}

/// Runs the worker loop until `run_for` passes.
pub async fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let options = ClientOptions {
        ttl: args.ttl,
        label: Some(format!("demo {}", args.name)),
        ..ClientOptions::default()
    };
    let client = Client::connect(args.endpoints.split(','), options).await?;
    let mut store = FencedStore::open(&args.db)?;
    let stop_at = Instant::now() + args.run_for;
    while Instant::now() < stop_at {
        let lock = match client.lock(&args.lock, Duration::from_secs(5)).await {
            Ok(l) => l,
            Err(e) => {
                emit(json!({"event": "error", "error": e.to_string()}));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let token = lock.fencing_token();
        emit(json!({"event": "acquired", "token": token}));
        for _ in 0..3 {
            if !lock.is_held() {
                emit(json!({"event": "lost", "token": token}));
                break;
            }
            // Checked: still held. A pause can strike right here, between the
            // check and the write; only the fencing token protects the write.
            emit(json!({"event": "checked", "token": token}));
            tokio::time::sleep(Duration::from_millis(150)).await;
            let accepted = store.write(&args.lock, token, &args.name)? == Write::Accepted;
            emit(
                json!({"event": "write", "token": token, "accepted": accepted, "held": lock.is_held()}),
            );
            if !accepted {
                break;
            }
        }
        let _ = lock.release().await;
        let pause = rand::rng().random_range(10..60);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    let _ = client.close().await;
    emit(json!({"event": "done"}));
    Ok(ExitCode::SUCCESS)
}
