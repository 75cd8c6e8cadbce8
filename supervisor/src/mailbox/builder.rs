//! Declaring a mailbox with more than a name and a capacity.

use std::marker::PhantomData;
use std::sync::Arc;

use super::dead_letter::DeadLetter;
use super::inbox::Consumer;
use super::mode::{AtLeastOnce, AtMostOnce, DeliveryMode};
use super::outbox::Outbox;
use super::shared::{DeadLetterSink, Shared};
use super::{MAX_CAPACITY, Mailbox, MailboxRef};
use crate::error::SpecError;

/// A mailbox being declared: [`Mailbox::builder`], then [`build`](Self::build).
///
/// ```
/// use supervisor::mailbox::{DeadLetter, Mailbox};
///
/// # fn main() -> Result<(), supervisor::error::SpecError> {
/// // Orders that failed three deliveries go to `poison`, for a child that records them.
/// let (poison, _poison_consumer) = Mailbox::<DeadLetter<u64>>::bounded("poison", 64)?;
/// let (orders, _router_consumer) = Mailbox::<u64>::builder("orders", 1024)
///     .at_least_once(3)
///     .dead_letters(poison.sender())
///     .build()?;
/// assert_eq!(orders.stats().max_deliveries, Some(3));
/// # Ok(())
/// # }
/// ```
pub struct MailboxBuilder<T, D = AtMostOnce> {
    name: Arc<str>,
    capacity: usize,
    max_deliveries: Option<u32>,
    drain_on_shutdown: bool,
    dead_letters: Option<Box<(DeadLetterSink<T>, MailboxRef)>>,
    mode: PhantomData<D>,
}

impl<T: Send + 'static> MailboxBuilder<T> {
    pub(super) fn new(name: Arc<str>, capacity: usize) -> Self {
        MailboxBuilder {
            name,
            capacity,
            max_deliveries: None,
            drain_on_shutdown: true,
            dead_letters: None,
            mode: PhantomData,
        }
    }

    /// At least once: the consumer takes `&mut AckInbox<T>` and acknowledges each message;
    /// one it does not acknowledge comes back, up to `max_deliveries` deliveries in all, then
    /// becomes a dead letter. Keep `max_deliveries` below the consumer's circuit breaker
    /// limit, or a poison message trips the breaker before it is dead-lettered.
    pub fn at_least_once(self, max_deliveries: u32) -> MailboxBuilder<T, AtLeastOnce> {
        MailboxBuilder {
            name: self.name,
            capacity: self.capacity,
            max_deliveries: Some(max_deliveries),
            drain_on_shutdown: self.drain_on_shutdown,
            dead_letters: self.dead_letters,
            mode: PhantomData,
        }
    }
}

impl<T: Send + 'static, D: DeliveryMode> MailboxBuilder<T, D> {
    /// Sends each dead letter to `sink` (another mailbox, whose consumer records or alerts),
    /// if it has room: the mailbox never waits on it, and a full or closed sink drops the
    /// letter with a warning. Every dead letter is counted either way. At shutdown, the tree
    /// stops the sink's consumer only after this mailbox's consumer, which makes the letters.
    pub fn dead_letters(mut self, sink: Outbox<DeadLetter<T>>) -> Self {
        let target = sink.erased();
        let send: DeadLetterSink<T> = Box::new(move |letter| {
            sink.try_send(letter)
                .map_err(|refused| format!("dead-letter mailbox `{}`: {refused}", sink.mailbox()))
        });
        self.dead_letters = Some(Box::new((send, target)));
        self
    }

    /// Whether the consumer drains the mailbox at the tree's shutdown before it is
    /// cancelled; on unless turned off here. On, a running consumer receives what is queued
    /// until `recv` returns `None`, then its context is cancelled, and one not running
    /// (backing off after a failure, or waiting for a dependency) gets one attempt at once to
    /// do so. Off, the mailbox closes when the consumer's turn to stop comes and the consumer
    /// is cancelled at once, as any child; what it does not receive before it returns is
    /// counted undelivered (and can be [taken](super::Mailbox::take_undelivered)), as
    /// Erlang/OTP leaves unstarted children.
    pub fn drain_on_shutdown(mut self, drain: bool) -> Self {
        self.drain_on_shutdown = drain;
        self
    }

    /// The mailbox, and the right to consume it, for one child.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidMailbox`] when the name is empty, the capacity is 0 or above
    /// [`MAX_CAPACITY`], or `max_deliveries` is 0.
    #[allow(clippy::type_complexity)] // A pair, as `Mailbox::bounded` returns it.
    pub fn build(self) -> Result<(Mailbox<T, D>, Consumer<T, D>), SpecError> {
        let problem = if self.name.is_empty() {
            Some("a mailbox needs a name".to_owned())
        } else if self.capacity == 0 {
            Some("its capacity must be at least 1".to_owned())
        } else if self.capacity > MAX_CAPACITY {
            Some(format!("its capacity must be at most {MAX_CAPACITY}"))
        } else if self.max_deliveries == Some(0) {
            Some("max_deliveries must be at least 1".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(SpecError::InvalidMailbox {
                mailbox: self.name.to_string(),
                problem,
            });
        }
        let shared = Shared::new(
            self.name,
            self.capacity,
            self.max_deliveries,
            self.drain_on_shutdown,
            self.dead_letters,
        );
        Ok((
            Mailbox {
                shared: Arc::clone(&shared),
                mode: PhantomData,
            },
            Consumer {
                shared,
                mode: PhantomData,
            },
        ))
    }
}
