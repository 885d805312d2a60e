//! A TCP link that can be cut: a proxy that forwards, or swallows everything
//! (a network partition). Cutting or healing resets the link's connections, so
//! both ends notice at once and reconnect when it heals.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A proxied link to one target.
pub struct Link {
    /// Where to connect instead of the target.
    pub addr: String,
    cut: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    target: Arc<parking_lot::Mutex<String>>,
}

impl Link {
    /// Starts a link to `target` (which may be set later, see [`Link::set_target`]).
    pub async fn start(target: String) -> anyhow::Result<Link> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let cut = Arc::new(AtomicBool::new(false));
        let (generation, _) = watch::channel(0u64);
        let target = Arc::new(parking_lot::Mutex::new(target));
        let (cut2, gen2, target2) = (cut.clone(), generation.clone(), target.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut changed = gen2.subscribe();
                let cut = cut2.load(Ordering::SeqCst);
                let target = target2.lock().clone();
                tokio::spawn(async move {
                    if cut {
                        // A partition: hold the connection, pass nothing.
                        let _ = changed.changed().await;
                        drop(client);
                        return;
                    }
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let mut client = client;
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = changed.changed() => {}
                    }
                });
            }
        });
        Ok(Link {
            addr,
            cut,
            generation,
            target,
        })
    }

    /// Points the link at `target`.
    pub fn set_target(&self, target: &str) {
        *self.target.lock() = target.to_owned();
    }

    /// Cuts (true) or heals (false) the link, resetting its connections.
    pub fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Whether the link is cut.
    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}
