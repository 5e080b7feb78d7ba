//! Group commit for messages: sends that arrive together are stored in one transaction, so the
//! rate of messages is not bounded by the rate of durable commits (one fsync each on SQLite).
//!
//! One writer task takes whatever is queued (up to a batch), appends each in its own savepoint,
//! commits once, and only then answers every sender: an answer still means "durably stored".
//! While a batch commits the next one gathers, so batches grow with load and stay at one
//! message when the server is quiet, adding no delay then.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use palisade_protocol::{ClientMessageId, MessageId, RoomId, UserId};
use tokio::sync::{mpsc, oneshot};

use crate::connection::write_transaction;
use crate::messages::{self, Appended, NewMessage};
use crate::{Sealed, Store, StoreError};

/// A message to append, owned so it can wait in the queue.
#[derive(Debug)]
pub struct QueuedMessage {
    pub id: MessageId,
    pub room: RoomId,
    pub author: UserId,
    pub author_name: String,
    pub client_id: ClientMessageId,
    pub body: Sealed,
}

impl QueuedMessage {
    fn as_new(&self) -> NewMessage<'_> {
        NewMessage {
            id: self.id,
            room: self.room,
            author: self.author,
            author_name: &self.author_name,
            client_id: self.client_id,
            body: &self.body,
        }
    }
}

type Reply = oneshot::Sender<Result<Appended, StoreError>>;

/// The handle senders append through; cheap to clone.
#[derive(Debug, Clone)]
pub struct Appender {
    queue: mpsc::Sender<(QueuedMessage, Reply)>,
    commits: Arc<AtomicU64>,
}

impl Appender {
    /// Starts the writer task (so it must be called inside a runtime). `max_batch` bounds how
    /// many messages one transaction holds, and so how long one commit keeps the others waiting.
    pub fn spawn(store: Store, max_batch: usize) -> Self {
        let max_batch = max_batch.max(1);
        let (queue, pending) = mpsc::channel(max_batch * 4);
        let commits = Arc::new(AtomicU64::new(0));
        tokio::spawn(write(store, pending, max_batch, Arc::clone(&commits)));
        Self { queue, commits }
    }

    /// How many transactions the writer has committed: messages appended over this is the
    /// mean batch size.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Appends the message durably (see [`messages::append`]), in whatever batch it joins.
    pub async fn append(&self, message: QueuedMessage) -> Result<Appended, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((message, reply)).await.map_err(|_| StoreError::TaskFailed)?;
        answer.await.map_err(|_| StoreError::TaskFailed)?
    }
}

async fn write(
    store: Store,
    mut pending: mpsc::Receiver<(QueuedMessage, Reply)>,
    max_batch: usize,
    commits: Arc<AtomicU64>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while pending.recv_many(&mut batch, max_batch).await > 0 {
        let (messages, replies): (Vec<_>, Vec<_>) = std::mem::take(&mut batch).into_iter().unzip();
        match store.interact(move |conn| commit(conn, &messages)).await {
            Ok(results) => {
                commits.fetch_add(1, Ordering::Relaxed);
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                tracing::error!(%error, lost = replies.len(), "a batch of messages was not committed");
                for reply in replies {
                    let _ = reply.send(Err(StoreError::BatchFailed(error.to_string())));
                }
            }
        }
    }
}

/// Appends each message in its own savepoint, so one failing (its room deleted, say) leaves
/// the others to commit together; the outer result fails only if the commit itself does.
fn commit(
    conn: &mut crate::DbConnection,
    queued: &[QueuedMessage],
) -> Result<Vec<Result<Appended, StoreError>>, StoreError> {
    write_transaction(conn, |conn| Ok(queued.iter().map(|message| messages::append(conn, &message.as_new())).collect()))
}
