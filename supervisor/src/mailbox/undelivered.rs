//! What a mailbox still held when its tree ended, for the application to keep.

use std::fmt;

/// The messages a mailbox still held when its tree ended, taken out with
/// [`Mailbox::take_undelivered`](super::Mailbox::take_undelivered): to persist unsent orders
/// for review, say, rather than drop them with the process.
#[non_exhaustive]
pub struct Undelivered<T> {
    /// At least once: the message given back and never acknowledged (counted as
    /// [`in_doubt`](super::MailboxStats::in_doubt)); it may have been acted on. Always `None`
    /// at most once.
    pub in_doubt: Option<T>,
    /// Never received, in the order they were queued (counted as
    /// [`queued`](super::MailboxStats::queued)).
    pub queued: Vec<T>,
}

impl<T> Undelivered<T> {
    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.in_doubt.is_none() && self.queued.is_empty()
    }
}

impl<T> Default for Undelivered<T> {
    fn default() -> Self {
        Undelivered {
            in_doubt: None,
            queued: Vec::new(),
        }
    }
}

impl<T> fmt::Debug for Undelivered<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Undelivered")
            .field("in_doubt", &self.in_doubt.is_some())
            .field("queued", &self.queued.len())
            .finish()
    }
}
