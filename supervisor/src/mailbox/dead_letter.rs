//! Messages a mailbox gave up on, and why.

use std::fmt;
use std::sync::Arc;

use crate::model::TerminationReason;

/// A message its mailbox gave up on, as a dead-letter mailbox receives it
/// ([`MailboxBuilder::dead_letters`](super::MailboxBuilder::dead_letters)).
#[non_exhaustive]
pub struct DeadLetter<T> {
    /// The message.
    pub message: T,
    /// The mailbox it was sent to.
    pub mailbox: Arc<str>,
    /// How many times an attempt of the consumer received it: 0 if never; above 0, it may
    /// have been processed before the failure that followed (in doubt).
    pub deliveries: u32,
    /// Why it was given up on.
    pub reason: DeadLetterReason,
}

/// Why a mailbox gave up on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// It was delivered `max_deliveries` times and never acknowledged (a poison message).
    MaxDeliveries {
        /// How its last delivery ended: the attempt's failure, or that it was nacked.
        last_failure: Arc<str>,
    },
    /// The consumer terminated for good while it was queued.
    ConsumerTerminated(TerminationReason),
}

impl fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeadLetterReason::MaxDeliveries { last_failure } => {
                write!(f, "delivered too many times; last: {last_failure}")
            }
            DeadLetterReason::ConsumerTerminated(reason) => {
                write!(f, "its consumer terminated ({reason})")
            }
        }
    }
}

// Without the message: it need not be `Debug`, and may be large or secret.
impl<T> fmt::Debug for DeadLetter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("mailbox", &self.mailbox)
            .field("deliveries", &self.deliveries)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}
