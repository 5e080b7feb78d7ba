//! A loopback TCP relay between the browsers and the chat server, so that a test can cut the
//! network under a running widget: the browser only ever talks to the relay, which forwards the
//! bytes (TLS and all) to the server untouched.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// What accepting and cutting decide together: checked and changed under one lock, so that a
/// connection accepted while a cut is under way is either cut with the others or refused, never
/// left forwarding.
struct State {
    /// New connections are refused until then.
    refuse_until: Option<Instant>,
    /// Tells every connection forwarded so far that it is cut.
    cut: watch::Sender<()>,
    /// The connections being forwarded now; each ends with whether it was cut.
    connections: JoinSet<bool>,
}

/// Forwards every connection on its own loopback port to `target`.
pub struct Relay {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accepting: JoinHandle<()>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Drop for Relay {
    // The state (and with it every forwarded connection) goes once the accepting task lets go.
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Closes with a reset rather than an orderly shutdown: the peer learns at once that the
/// connection is gone, as it would from a router that lost it, and has nothing to drain.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Forwards one connection until either side ends it (an orderly close, passed on as such)
/// or the relay cuts it (a reset both ways). Returns whether it was cut.
async fn forward(mut browser: TcpStream, target: SocketAddr, mut cut: watch::Receiver<()>) -> bool {
    let server = tokio::select! {
        server = TcpStream::connect(target) => server,
        _ = cut.changed() => Err(std::io::ErrorKind::ConnectionAborted.into()),
    };
    let Ok(mut server) = server else {
        reset(browser);
        return true;
    };
    // WebSocket frames are small and latency is what the widget's timers measure.
    let _ = browser.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let was_cut = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut browser, &mut server) => false,
        _ = cut.changed() => true,
    };
    if was_cut {
        reset(browser);
        reset(server);
    }
    was_cut
}

impl Relay {
    /// Starts relaying from `listener` to `target`. Must be called within a Tokio runtime.
    pub fn start(listener: TcpListener, target: SocketAddr) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            refuse_until: None,
            cut: watch::Sender::new(()),
            connections: JoinSet::new(),
        }));
        let accepting = tokio::spawn(accept(listener, target, Arc::clone(&state)));
        Ok(Self { addr, state, accepting })
    }

    /// Drops every connection open through the relay, and for `hold` resets every new one as
    /// soon as it is accepted (the port stays bound, so nothing else can take it meanwhile);
    /// then forwards again. Returns once every cut connection is closed, with how many there
    /// were.
    pub async fn cut(&self, hold: Duration) -> usize {
        let mut cut = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.refuse_until = Some(Instant::now() + hold);
            state.cut.send_replace(());
            std::mem::take(&mut state.connections)
        };
        let mut closed = 0;
        while let Some(ended) = cut.join_next().await {
            // A connection that had ended by itself before the cut closed nothing.
            if ended.unwrap_or(false) {
                closed += 1;
            }
        }
        closed
    }
}

async fn accept(listener: TcpListener, target: SocketAddr, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: give the system a moment rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        while state.connections.try_join_next().is_some() {}
        if state.refuse_until.is_some_and(|until| Instant::now() < until) {
            reset(stream);
        } else {
            state.refuse_until = None;
            let cut = state.cut.subscribe();
            state.connections.spawn(forward(stream, target, cut));
        }
    }
}
