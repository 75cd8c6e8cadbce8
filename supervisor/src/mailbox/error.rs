//! Why a send did not go through; each error gives the message back.

use std::error::Error;
use std::fmt;

use crate::model::TerminationReason;

/// Why a mailbox takes no more messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Its consumer terminated for good; the mailbox opens again if the consumer is started
    /// again (its supervisor restarted, or an operator restarted it).
    ConsumerTerminated(TerminationReason),
    /// The tree is shutting down.
    Shutdown,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::ConsumerTerminated(reason) => {
                write!(f, "its consumer terminated ({reason})")
            }
            CloseReason::Shutdown => f.write_str("the tree is shutting down"),
        }
    }
}

/// A [`send`](crate::mailbox::Outbox::send) that did not go through: the message comes back.
#[derive(PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError<T> {
    /// The mailbox takes no messages now.
    Closed {
        /// The message, not sent.
        message: T,
        /// Why.
        reason: CloseReason,
    },
    /// The sender's context was cancelled while it waited for room
    /// ([`send_with`](crate::mailbox::Outbox::send_with)).
    Cancelled(T),
}

/// A [`try_send`](crate::mailbox::Outbox::try_send) that did not go through.
#[derive(PartialEq, Eq)]
#[non_exhaustive]
pub enum TrySendError<T> {
    /// The mailbox is full (its consumer is slow, or restarting).
    Full(T),
    /// The mailbox takes no messages now.
    Closed {
        /// The message, not sent.
        message: T,
        /// Why.
        reason: CloseReason,
    },
}

/// A [`send_timeout`](crate::mailbox::Outbox::send_timeout) that did not go through.
#[derive(PartialEq, Eq)]
#[non_exhaustive]
pub enum SendTimeoutError<T> {
    /// No room came within the timeout.
    Timeout(T),
    /// The mailbox takes no messages now.
    Closed {
        /// The message, not sent.
        message: T,
        /// Why.
        reason: CloseReason,
    },
}

impl<T> SendError<T> {
    /// The message that was not sent.
    pub fn into_message(self) -> T {
        match self {
            SendError::Closed { message, .. } | SendError::Cancelled(message) => message,
        }
    }
}

impl<T> TrySendError<T> {
    /// The message that was not sent.
    pub fn into_message(self) -> T {
        match self {
            TrySendError::Full(message) | TrySendError::Closed { message, .. } => message,
        }
    }
}

impl<T> SendTimeoutError<T> {
    /// The message that was not sent.
    pub fn into_message(self) -> T {
        match self {
            SendTimeoutError::Timeout(message) | SendTimeoutError::Closed { message, .. } => {
                message
            }
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed { reason, .. } => write!(f, "not sent: {reason}"),
            SendError::Cancelled(_) => f.write_str("not sent: cancelled while waiting for room"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("not sent: the mailbox is full"),
            TrySendError::Closed { reason, .. } => write!(f, "not sent: {reason}"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("not sent: no room within the timeout"),
            SendTimeoutError::Closed { reason, .. } => write!(f, "not sent: {reason}"),
        }
    }
}

// Debug as Display, without the message: it need not be `Debug`, and may be large or secret.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<T> Error for SendError<T> {}
impl<T> Error for TrySendError<T> {}
impl<T> Error for SendTimeoutError<T> {}

/// Why [`Inbox::try_recv`](crate::mailbox::Inbox::try_recv) returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// None is queued now.
    Empty,
    /// The mailbox is closed (shutdown) and every message was received.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "no message queued",
            TryRecvError::Closed => "the mailbox is closed and empty",
        })
    }
}

impl Error for TryRecvError {}
