//! Graceful shutdown. On SIGTERM or SIGINT the server stops accepting connections and asks
//! every open WebSocket to go: each finishes the frame it is handling (so a message being stored
//! is committed and acknowledged), then closes with 1012 `server_restart`, and its client
//! resumes on another instance, or on this one once it is back, from the last seq it saw.
//! Frames a client sent that were not read yet get no Ack, so the client re-sends them under the
//! same `client_id`, and they are stored once.

use std::sync::Arc;

use actix_web::dev::ServerHandle;
use tokio::sync::watch;

/// Tells open connections that the server is stopping.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Default for Shutdown {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }
}

impl Shutdown {
    /// Resolves once shutdown has begun (at once when it already has).
    pub fn begun(&self) -> impl Future<Output = ()> + use<> {
        let mut stopping = self.0.subscribe();
        async move {
            // An error means the sender is gone, which happens only with the server itself.
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }
}

/// Stops one running server gracefully.
#[derive(Debug, Clone)]
pub struct Stopper {
    server: ServerHandle,
    shutdown: Shutdown,
}

impl Stopper {
    pub(crate) fn new(server: ServerHandle, shutdown: Shutdown) -> Self {
        Self { server, shutdown }
    }

    /// No new connections, open WebSockets asked to leave, and at most the server's shutdown
    /// timeout for every connection to end; returns once the server has stopped.
    pub async fn stop(self) {
        let stopped = self.server.stop(true);
        self.shutdown.0.send_replace(true);
        stopped.await;
    }
}

/// Waits for SIGTERM (what service managers and orchestrators send) or SIGINT (Ctrl-C).
pub async fn signalled() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    })
}
