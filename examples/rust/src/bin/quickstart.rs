//! Quickstart: take a lock, use its fencing token, release it.
//!
//!     tenure dev &                      # a local 3-node cluster
//!     cargo run -p tenure-examples --bin quickstart

use std::time::Duration;

use tenure::{Client, ClientOptions, ErrorKind};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let endpoints = std::env::var("TENURE_ENDPOINTS")
        .unwrap_or_else(|_| "127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102".into());
    let client = Client::connect(endpoints.split(','), ClientOptions::default()).await?;

    // Wait up to 10 s in the server's FIFO queue.
    let lock = client
        .lock("examples/quickstart", Duration::from_secs(10))
        .await?;
    println!(
        "holding {} with fencing token {}",
        lock.name(),
        lock.fencing_token()
    );
    println!(
        "send this header with every write: tenure-fence: {}",
        lock.fence()
    );

    // Someone else trying at the same time is turned away.
    let other = Client::connect(endpoints.split(','), ClientOptions::default()).await?;
    match other.try_lock("examples/quickstart").await {
        Err(e) if e.kind() == ErrorKind::LockHeld => println!("a second client is refused: {e}"),
        other => anyhow::bail!("expected LockHeld, got {other:?}"),
    }

    // Work under the lock: cancelled if the lock is lost meanwhile.
    let answer = lock.run(async { 6 * 7 }).await?;
    println!("did the work ({answer}); still held: {}", lock.is_held());
    lock.release().await?;
    client.close().await?;
    other.close().await?;
    Ok(())
}
