//! Leader election: of many copies of this worker, exactly one does the work at
//! a time; when it dies or loses its lock, another takes over.
//!
//!     cargo run -p tenure-examples --bin singleton_worker -- 10   # run 10 s

use std::time::{Duration, Instant};

use tenure::{Client, ClientOptions, ErrorKind};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let endpoints = std::env::var("TENURE_ENDPOINTS")
        .unwrap_or_else(|_| "127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102".into());
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let stop_at = Instant::now() + Duration::from_secs(seconds);
    let options = ClientOptions {
        ttl: Duration::from_secs(3),
        ..ClientOptions::default()
    };
    let client = Client::connect(endpoints.split(','), options).await?;
    let me = std::process::id();
    while Instant::now() < stop_at {
        // Campaign: wait to become the leader.
        let left = stop_at.saturating_duration_since(Instant::now());
        let lock = match client.lock("examples/singleton", left).await {
            Ok(l) => l,
            Err(e) if e.kind() == ErrorKind::Timeout => break,
            Err(e) => return Err(e.into()),
        };
        println!("[{me}] leading with token {}", lock.fencing_token());
        // Lead until the time is up or leadership is lost; the work is
        // cancelled the moment the lock is lost.
        let work = async {
            while Instant::now() < stop_at {
                println!("[{me}] working as leader (token {})", lock.fencing_token());
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        };
        match lock.run(work).await {
            Ok(()) => lock.release().await?,
            Err(e) => println!("[{me}] lost leadership: {e}; campaigning again"),
        }
    }
    client.close().await?;
    Ok(())
}
