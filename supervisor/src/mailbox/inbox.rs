//! Consuming a mailbox: each attempt of the consumer borrows the tree-owned receiver and gives
//! it back when it ends, however it ends.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::sync::futures::Notified;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::error::TryRecvError;
use super::shared::Shared;

/// How many received messages an inbox counts before it adds them to the mailbox's stats
/// (it also does whenever it waits and when its attempt ends): one shared write per batch,
/// not per message.
const PUBLISH_EVERY: u64 = 32;

/// The right to consume a mailbox. Not `Clone`: it is moved into exactly one child's spec
/// ([`service_with_inbox`](super::service_with_inbox)), so a mailbox cannot get a second
/// consumer.
pub struct Consumer<T> {
    pub(super) shared: Arc<Shared<T>>,
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("mailbox", &self.shared.name)
            .finish()
    }
}

impl<T: Send + 'static> Consumer<T> {
    /// The mailbox's name.
    pub fn mailbox(&self) -> &str {
        &self.shared.name
    }

    /// The receiver for the attempt whose token is `attempt`, or `None` while an earlier
    /// attempt still holds it.
    pub(crate) fn lease(&self, attempt: CancellationToken) -> Option<Inbox<T>> {
        let receiver = self.shared.take_receiver()?;
        Some(Inbox {
            receiver: Some(receiver),
            shared: Arc::clone(&self.shared),
            unpublished: 0,
            attempt,
        })
    }
}

/// What one attempt of a mailbox's consumer receives from. It is borrowed (`&mut Inbox<T>`),
/// so it cannot outlive the attempt; when the attempt ends (it returns, fails, panics, is
/// cancelled or aborted) the receiver goes back to the tree with every message still queued,
/// in order, for the next attempt.
///
/// The message an attempt has received is its own: if the attempt fails while handling it,
/// it is gone with the attempt (at most once), as in Erlang/OTP and Akka.
pub struct Inbox<T> {
    /// Always `Some` until dropped.
    receiver: Option<mpsc::Receiver<T>>,
    shared: Arc<Shared<T>>,
    /// Received and not yet added to the stats.
    unpublished: u64,
    /// Its attempt's: cancelled once the mailbox is closed and drained, so that the
    /// consumer's other waits end too.
    attempt: CancellationToken,
}

impl<T> fmt::Debug for Inbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("mailbox", &self.shared.name)
            .finish()
    }
}

impl<T: Send + 'static> Inbox<T> {
    /// The mailbox's name.
    pub fn mailbox(&self) -> &str {
        &self.shared.name
    }

    /// Messages queued now.
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Whether no message is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next message, waiting for one; `None` once the tree is shutting down and every
    /// queued message was received (then the attempt's context is cancelled too).
    ///
    /// Cancel safe: if this future is dropped before it is ready (in a `select!`), no message
    /// was taken.
    pub async fn recv(&mut self) -> Option<T> {
        let Inbox {
            receiver,
            shared,
            unpublished,
            attempt,
        } = self;
        let receiver = receiver.as_mut()?;
        // Made only once the queue is found empty: a backlog is received without it.
        let mut changed = std::pin::pin!(None::<Notified<'_>>);
        std::future::poll_fn(|cx| {
            loop {
                // What is queued is received, closed or not. `None` comes only once the
                // channel is closed (below) and empty, with no send under way.
                match receiver.poll_recv(cx) {
                    Poll::Ready(Some(message)) => {
                        *unpublished += 1;
                        if *unpublished >= PUBLISH_EVERY {
                            shared.publish_delivered(std::mem::take(unpublished));
                        }
                        return Poll::Ready(Some(message));
                    }
                    Poll::Ready(None) => {
                        shared.publish_delivered(std::mem::take(unpublished));
                        attempt.cancel();
                        return Poll::Ready(None);
                    }
                    Poll::Pending => {}
                }
                // Empty, or out of its task's budget: the stats are exact while it waits.
                shared.publish_delivered(std::mem::take(unpublished));
                if shared.is_closed() {
                    if !receiver.is_closed() {
                        // Closing the channel itself, so that its end is Tokio's: after the
                        // last message, and after any send that had room already.
                        receiver.close();
                        continue;
                    }
                    return Poll::Pending;
                }
                match changed.as_mut().as_pin_mut() {
                    // Listening from now on, then looking again: a close in between is seen.
                    None => {
                        changed.set(Some(shared.changed.notified()));
                        if let Some(listening) = changed.as_mut().as_pin_mut() {
                            listening.enable();
                        }
                    }
                    Some(listening) => match listening.poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        // Closed or reopened: look again, listening anew.
                        Poll::Ready(()) => changed.set(None),
                    },
                }
            }
        })
        .await
    }

    /// The next message if one is queued now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when none is; [`TryRecvError::Closed`] once the tree is
    /// shutting down and every queued message was received.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(receiver) = self.receiver.as_mut() else {
            return Err(TryRecvError::Closed);
        };
        if self.shared.is_closed() && !receiver.is_closed() {
            receiver.close();
        }
        match receiver.try_recv() {
            Ok(message) => {
                self.unpublished += 1;
                if self.unpublished >= PUBLISH_EVERY || self.shared.is_closed() {
                    self.shared
                        .publish_delivered(std::mem::take(&mut self.unpublished));
                }
                Ok(message)
            }
            Err(mpsc::error::TryRecvError::Disconnected) => {
                self.attempt.cancel();
                Err(TryRecvError::Closed)
            }
            Err(mpsc::error::TryRecvError::Empty) => Err(TryRecvError::Empty),
        }
    }
}

impl<T> Drop for Inbox<T> {
    /// The receiver goes back to the tree, for the next attempt.
    fn drop(&mut self) {
        if let Some(receiver) = self.receiver.take() {
            self.shared.return_receiver(receiver, self.unpublished);
        }
    }
}

/// An attempt's future that borrows its inbox, as [`service_with_inbox`](super::service_with_inbox) takes it.
pub type InboxFuture<'a, R> = Pin<Box<dyn Future<Output = R> + Send + 'a>>;
