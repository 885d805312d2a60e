//! A lock holder in its own process, for tests that kill -9 or SIGSTOP a client.
//!
//! Usage: tenure-test-holder ENDPOINTS LOCK TTL_MS DB
//! Acquires LOCK, prints `{"event":"acquired",...}` with its local expiry as
//! Unix ms, then watches `is_held()`. When the lock is lost it prints
//! `{"event":"lost",...}`, tries a fenced write to DB with its (stale) token,
//! prints `{"event":"write","accepted":...}` and exits.
//!
//! Usage: tenure-test-holder --exit ENDPOINTS LOCK [--no-env]
//! Acquires LOCK (ENDPOINTS may be empty: TENURE_ENDPOINTS then), prints
//! `{"event":"acquired",...}` and returns from main with the client and the
//! lock still open (the clean-exit and env scenarios).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tenure::{Client, ClientOptions};
use tenure_tests::fenced::{FencedStore, Write};

fn unix_ms(offset: Duration) -> u128 {
    (SystemTime::now() + offset)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--exit") {
        return hold_and_exit(&args[2..]).await;
    }
    anyhow::ensure!(
        args.len() == 5,
        "usage: tenure-test-holder ENDPOINTS LOCK TTL_MS DB"
    );
    let ttl = Duration::from_millis(args[3].parse()?);
    let db = PathBuf::from(&args[4]);
    let options = ClientOptions {
        ttl,
        ..ClientOptions::default()
    };
    let client = Client::connect(args[1].split(','), options).await?;
    let lock = client.lock(&args[2], Duration::from_secs(30)).await?;
    println!(
        "{}",
        serde_json::json!({
            "event": "acquired",
            "token": lock.fencing_token(),
            "owner": lock.owner_id(),
            "session": lock.session_id(),
            "expiry_unix_ms": unix_ms(lock.remaining()) as u64,
        })
    );
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if lock.is_held() {
            continue;
        }
        // Its final local expiry, as Unix ms, to compare with the next grant (G3).
        let now = tokio::time::Instant::now();
        let expired_ago = now.saturating_duration_since(lock.local_expiry());
        let expiry_unix_ms = unix_ms(Duration::ZERO) - expired_ago.as_millis();
        println!(
            "{}",
            serde_json::json!({
                "event": "lost",
                "reason": lock.lost_reason().map(|r| r.to_string()),
                "expiry_unix_ms": expiry_unix_ms as u64,
            })
        );
        let mut store = FencedStore::open(&db)?;
        let accepted = store.write(&args[2], lock.fencing_token(), "holder")? == Write::Accepted;
        println!(
            "{}",
            serde_json::json!({"event": "write", "accepted": accepted})
        );
        return Ok(());
    }
}

/// Acquires and returns with everything still open.
async fn hold_and_exit(args: &[String]) -> anyhow::Result<()> {
    anyhow::ensure!(
        (2..=3).contains(&args.len()),
        "usage: tenure-test-holder --exit ENDPOINTS LOCK [--no-env]"
    );
    let options = ClientOptions {
        ttl: Duration::from_secs(3),
        use_env: args.get(2).map(String::as_str) != Some("--no-env"),
        ..ClientOptions::default()
    };
    let endpoints: Vec<&str> = args[0].split(',').collect();
    let client = Client::connect(endpoints, options).await?;
    let lock = client.try_lock(&args[1]).await?;
    println!(
        "{}",
        serde_json::json!({"event": "acquired", "session": lock.session_id()})
    );
    Ok(())
}
