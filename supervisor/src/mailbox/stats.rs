//! A mailbox's counts.

use std::fmt;

/// What went through a mailbox so far. Every message a send put in is in exactly one of
/// `queued`, `delivered` and `dead_lettered`, so `sent` is their sum.
///
/// While its consumer works through a backlog, `delivered` trails by up to 32 messages: the
/// inbox publishes its count in batches, and whenever it waits for a message or an attempt
/// ends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxStats {
    /// The mailbox's name.
    pub name: String,
    /// How many messages it holds at most.
    pub capacity: usize,
    /// Messages sent into it.
    pub sent: u64,
    /// Messages waiting for the consumer (while the tree runs, senders handed room they
    /// are about to use count too); once the tree has ended, the messages never delivered.
    pub queued: u64,
    /// Messages an attempt of the consumer received.
    pub delivered: u64,
    /// Messages taken out unreceived because the consumer had terminated for good.
    pub dead_lettered: u64,
}

impl fmt::Display for MailboxStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} sent, {} delivered, {} dead-lettered, {}/{} queued",
            self.name, self.sent, self.delivered, self.dead_lettered, self.queued, self.capacity
        )
    }
}
