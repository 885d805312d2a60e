//! A TCP proxy on loopback that can cut a reply: the request reaches the server
//! and is applied, but the client's connection is reset before the answer
//! arrives, so the client must retry (a "dropped reply").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A running proxy.
pub struct Proxy {
    /// Address clients connect to.
    pub addr: String,
    cut_next: Arc<AtomicBool>,
    cuts: Arc<AtomicU64>,
    reset: Arc<Notify>,
}

impl Proxy {
    /// Proxies to `target` (host:port).
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let cut_next = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicU64::new(0));
        let reset = Arc::new(Notify::new());
        let (c, n, r) = (cut_next.clone(), cuts.clone(), reset.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                tokio::spawn(pipe(client, server, c.clone(), n.clone(), r.clone()));
            }
        });
        Proxy {
            addr,
            cut_next,
            cuts,
            reset,
        }
    }

    /// The next request bytes the client sends are delivered, then (after the
    /// server has had time to answer) every connection is reset and the reply
    /// never reaches the client.
    pub fn cut_next_reply(&self) {
        self.cut_next.store(true, Ordering::SeqCst);
    }

    /// How many replies were cut.
    pub fn cuts(&self) -> u64 {
        self.cuts.load(Ordering::SeqCst)
    }

    /// Resets every open connection now.
    pub fn reset_all(&self) {
        self.reset.notify_waiters();
    }
}

async fn pipe(
    client: TcpStream,
    server: TcpStream,
    cut_next: Arc<AtomicBool>,
    cuts: Arc<AtomicU64>,
    reset: Arc<Notify>,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let cutting = Arc::new(AtomicBool::new(false));
    let cutting_up = cutting.clone();
    let reset_up = reset.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if sw.write_all(&buf[..n]).await.is_err() {
                return;
            }
            if cut_next.swap(false, Ordering::SeqCst) {
                // The request is on its way: from now on, swallow replies, and
                // reset everything once the server has surely answered.
                cutting_up.store(true, Ordering::SeqCst);
                cuts.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                reset_up.notify_waiters();
                return;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if cutting.load(Ordering::SeqCst) {
                continue;
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = reset.notified() => {}
    }
}
