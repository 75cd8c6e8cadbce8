//! A mailbox's counts.

use std::fmt;

/// What went through a mailbox so far. Every message a send put in is in exactly one of
/// `queued`, `dead_lettered` (never received), and `delivered`; of those delivered at least
/// once, an at-least-once mailbox's are each `acked`, `rejected`, `dead_lettered` (delivered
/// `max_deliveries` times, or in doubt when the consumer terminated) or `in_doubt`.
///
/// While its consumer works through a backlog, the delivery counts trail by up to 32
/// messages: the inbox publishes them in batches, and whenever it waits for a message or an
/// attempt ends (an ack is seen with the consumer's next receive). Once the tree has ended
/// they are exact.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxStats {
    /// The mailbox's name.
    pub name: String,
    /// How many messages it holds at most.
    pub capacity: usize,
    /// `Some` for an at-least-once mailbox: how many deliveries of a message before it is
    /// dead-lettered.
    pub max_deliveries: Option<u32>,
    /// Messages sent into it.
    pub sent: u64,
    /// Messages waiting for their first delivery (while the tree runs, senders handed room
    /// they are about to use count too); once the tree has ended, the messages never
    /// delivered (undelivered).
    pub queued: u64,
    /// Messages an attempt of the consumer received, counted once each.
    pub delivered: u64,
    /// Deliveries after the first, of messages given back unacknowledged (at least once).
    pub redelivered: u64,
    /// Messages acknowledged (at least once).
    pub acked: u64,
    /// Messages rejected as invalid (at least once).
    pub rejected: u64,
    /// Messages delivered and neither acknowledged, rejected nor dead-lettered (at least
    /// once): the one in hand, or the one given back for redelivery; once the tree has ended,
    /// the one an attempt held when it was aborted at its shutdown deadline (or had given
    /// back), which may have been processed.
    pub in_doubt: u64,
    /// Messages given up on: queued when the consumer terminated for good, or, at least
    /// once, delivered `max_deliveries` times.
    pub dead_lettered: u64,
}

impl MailboxStats {
    /// Whether its consumer acknowledges each message (`AckInbox`).
    pub fn is_at_least_once(&self) -> bool {
        self.max_deliveries.is_some()
    }
}

impl fmt::Display for MailboxStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} sent, {} delivered",
            self.name, self.sent, self.delivered
        )?;
        if self.is_at_least_once() {
            write!(
                f,
                " ({} redelivered), {} acked, {} rejected, {} in doubt",
                self.redelivered, self.acked, self.rejected, self.in_doubt
            )?;
        }
        write!(
            f,
            ", {} dead-lettered, {}/{} queued",
            self.dead_lettered, self.queued, self.capacity
        )
    }
}
