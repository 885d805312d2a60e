//! Fenced writes to SQLite: a stale holder's late write is rejected by storage.
//!
//! The storage keeps the highest fencing token it has seen and accepts a write
//! only with a token at least as high, in one conditional UPDATE.
//!
//!     cargo run -p tenure-examples --bin fenced_sqlite

use std::time::Duration;

use rusqlite::{Connection, params};
use tenure::{Client, ClientOptions};

/// Writes `balance` if `token` is not stale; returns whether it was written.
fn fenced_write(db: &Connection, token: u64, balance: i64) -> rusqlite::Result<bool> {
    let rows = db.execute(
        "UPDATE account SET balance = ?1, fence = ?2 WHERE id = 1 AND fence <= ?2",
        params![balance, token as i64],
    )?;
    Ok(rows == 1)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let endpoints = std::env::var("TENURE_ENDPOINTS")
        .unwrap_or_else(|_| "127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102".into());
    let dir = std::env::temp_dir().join(format!("tenure-fenced-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = Connection::open(dir.join("bank.sqlite"))?;
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS account (id INTEGER PRIMARY KEY, balance INTEGER, fence INTEGER NOT NULL);
         INSERT OR REPLACE INTO account VALUES (1, 100, 0);",
    )?;

    let alice = Client::connect(endpoints.split(','), ClientOptions::default()).await?;
    let bob = Client::connect(endpoints.split(','), ClientOptions::default()).await?;
    let admin = Client::connect_lazy(endpoints.split(','), ClientOptions::default())?;

    let a = alice
        .lock("examples/account-1", Duration::from_secs(10))
        .await?;
    println!("alice holds the lock with token {}", a.fencing_token());
    assert!(fenced_write(&db, a.fencing_token(), 90)?);

    // Alice stalls (think: a long GC pause). An operator frees her grant; Bob,
    // who was waiting, gets the lock with a higher token and writes.
    let bob_wait = tokio::spawn({
        let bob = bob.clone();
        async move {
            bob.lock("examples/account-1", Duration::from_secs(10))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    admin
        .force_release("examples/account-1", &a.owner_id(), "alice is stuck")
        .await?;
    let b = bob_wait.await??;
    println!("bob holds the lock with token {}", b.fencing_token());
    assert!(fenced_write(&db, b.fencing_token(), 80)?);

    // Alice wakes up and writes with her old token: storage rejects it.
    let accepted = fenced_write(&db, a.fencing_token(), 0)?;
    println!(
        "alice's late write with token {} accepted: {accepted}",
        a.fencing_token()
    );
    anyhow::ensure!(!accepted, "the stale write must be rejected");
    let balance: i64 =
        db.query_row("SELECT balance FROM account WHERE id = 1", [], |r| r.get(0))?;
    println!("balance is {balance} (bob's write stands)");
    b.release().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
