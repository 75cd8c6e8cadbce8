//! Sending into a mailbox: a clone per producer, unaffected by the consumer's restarts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::error::{CloseReason, SendError, SendTimeoutError, TrySendError};
use super::shared::Shared;
use crate::context::TaskContext;

/// Sends into a mailbox. Cheap to clone; restarts of the consumer do not touch it: while the
/// consumer backs off, messages queue up to the capacity and then senders wait.
///
/// A send that returned `Ok` is received by an attempt of the consumer, dead-lettered (the
/// consumer terminated for good), or counted as queued in the mailbox's
/// [stats](super::Mailbox::stats) when the tree ends: it is never dropped silently.
pub struct Outbox<T> {
    pub(super) shared: Arc<Shared<T>>,
}

impl<T> Clone for Outbox<T> {
    fn clone(&self) -> Self {
        Outbox {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for Outbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("mailbox", &self.shared.name)
            .finish()
    }
}

impl<T: Send + 'static> Outbox<T> {
    pub(crate) fn erased(&self) -> super::MailboxRef {
        super::MailboxRef::of(&self.shared)
    }

    /// The mailbox's name.
    pub fn mailbox(&self) -> &str {
        &self.shared.name
    }

    /// What the consumer does now: a producer that would rather give up than queue behind a
    /// consumer backing off (a strategy placing orders) asks before it sends.
    ///
    /// A snapshot: it may change the moment after. Sends still say for themselves whether the
    /// mailbox takes messages.
    ///
    /// ```
    /// use supervisor::mailbox::{ConsumerState, Mailbox};
    ///
    /// # fn main() -> Result<(), supervisor::error::SpecError> {
    /// let (orders, _consumer) = Mailbox::<u32>::bounded("orders", 8)?;
    /// // No attempt of its consumer holds the inbox yet: messages queue.
    /// assert_eq!(orders.sender().consumer_state(), ConsumerState::Waiting);
    /// # Ok(())
    /// # }
    /// ```
    pub fn consumer_state(&self) -> ConsumerState {
        self.shared.consumer_state()
    }

    /// Sends `message`, waiting for room while the mailbox is full.
    ///
    /// Dropping this future while it waits drops the message with it, as Tokio's `send`
    /// does; [`send_with`](Self::send_with) gives it back on cancellation instead.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`], with the message, when the consumer has terminated for good or
    /// the tree is shutting down (also if that happens while it waits).
    pub async fn send(&self, message: T) -> Result<(), SendError<T>> {
        match self.reserve(std::future::pending::<()>()).await {
            Ok(permit) => {
                permit.send(message);
                Ok(())
            }
            Err(Refused::Closed(reason)) => Err(SendError::Closed { message, reason }),
            Err(Refused::Stopped) => Err(SendError::Cancelled(message)),
        }
    }

    /// Sends `message`, waiting for room until `ctx` is cancelled; then the message comes
    /// back, so a producer that is stopped mid-send loses nothing.
    ///
    /// # Errors
    ///
    /// [`SendError::Cancelled`] with the message when `ctx` was cancelled first;
    /// [`SendError::Closed`] as [`send`](Self::send).
    pub async fn send_with(&self, ctx: &TaskContext, message: T) -> Result<(), SendError<T>> {
        match self.reserve(ctx.cancelled()).await {
            Ok(permit) => {
                permit.send(message);
                Ok(())
            }
            Err(Refused::Closed(reason)) => Err(SendError::Closed { message, reason }),
            Err(Refused::Stopped) => Err(SendError::Cancelled(message)),
        }
    }

    /// Sends `message`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] with the message when no room came in time;
    /// [`SendTimeoutError::Closed`] as [`send`](Self::send).
    pub async fn send_timeout(
        &self,
        message: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        // Tokio's sleep saturates a timeout past its range to "never".
        match self.reserve(tokio::time::sleep(timeout)).await {
            Ok(permit) => {
                permit.send(message);
                Ok(())
            }
            Err(Refused::Closed(reason)) => Err(SendTimeoutError::Closed { message, reason }),
            Err(Refused::Stopped) => Err(SendTimeoutError::Timeout(message)),
        }
    }

    /// Sends `message` if there is room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] with the message when the mailbox is full (its consumer is slow
    /// or restarting); [`TrySendError::Closed`] as [`send`](Self::send).
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        if let Some(reason) = self.shared.refusal() {
            return Err(TrySendError::Closed { message, reason });
        }
        match self.shared.sender.try_reserve() {
            Ok(permit) => {
                permit.send(message);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(())) => Err(TrySendError::Full(message)),
            // Its consumer closed the channel: the tree is ending.
            Err(mpsc::error::TrySendError::Closed(())) => Err(TrySendError::Closed {
                message,
                reason: CloseReason::Shutdown,
            }),
        }
    }

    /// Room for one message, unless the mailbox refuses messages (now or while waiting) or
    /// `stop` comes first.
    async fn reserve(
        &self,
        stop: impl Future<Output = ()>,
    ) -> Result<mpsc::Permit<'_, T>, Refused> {
        if let Some(reason) = self.shared.refusal() {
            return Err(Refused::Closed(reason));
        }
        if let Ok(permit) = self.shared.sender.try_reserve() {
            return Ok(permit);
        }
        // Full: wait for room, a refusal or `stop`. Listening before the check, so that a
        // change between the two is not missed.
        let changed = self.shared.changed.notified();
        let mut changed = std::pin::pin!(changed);
        let mut stop = std::pin::pin!(stop);
        loop {
            changed.as_mut().enable();
            if let Some(reason) = self.shared.refusal() {
                return Err(Refused::Closed(reason));
            }
            tokio::select! {
                biased;
                () = &mut stop => return Err(Refused::Stopped),
                () = changed.as_mut() => {
                    changed.set(self.shared.changed.notified());
                }
                // The shared state holds a receiver for as long as this handle lives.
                permit = self.shared.sender.reserve() => {
                    return permit.map_err(|_| Refused::Closed(CloseReason::Shutdown));
                }
            }
        }
    }
}

/// What a mailbox's consumer does, as its senders see it ([`Outbox::consumer_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsumerState {
    /// An attempt of the consumer holds the inbox: messages are received as they come.
    Running,
    /// No attempt holds the inbox: the consumer has not started yet, or is between attempts
    /// (backing off after a failure, or waiting for a restart of its group). Messages queue
    /// up to the capacity, then senders wait.
    Waiting,
    /// The mailbox takes no messages now; sends fail with this reason.
    Closed(CloseReason),
}

enum Refused {
    Closed(CloseReason),
    Stopped,
}
