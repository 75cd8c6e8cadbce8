//! Mailboxes owned by the tree: queued messages survive every restart of their consumer.
//!
//! A [`Mailbox`] is bounded, has any number of [`Outbox`]es (cloneable senders) and exactly
//! one consumer child, made with [`service_with_inbox`] from the mailbox's [`Consumer`]. Each
//! attempt of the consumer borrows the tree-owned receiver as `&mut Inbox<T>` and gives it
//! back when it ends (returns, fails, panics, is cancelled or aborted), so the messages still
//! queued wait, in order, for the next attempt. Senders do not notice restarts: while the
//! consumer backs off, messages queue up to the capacity, then `send` waits and `try_send`
//! fails fast with the value.
//!
//! That is at most once: the message an attempt holds when it fails is gone with it. Built
//! [`at_least_once`](MailboxBuilder::at_least_once), the mailbox is consumed through an
//! [`AckInbox`], whose messages come as [`Delivery`] guards: one not acknowledged goes back
//! to the front for the next delivery, up to `max_deliveries`, then becomes a
//! [`DeadLetter`].
//!
//! When the consumer terminates for good (its restart policy, its circuit breaker), sends
//! fail with [`SendError::Closed`] and the message, and what was queued is dead-lettered
//! (counted in [`MailboxStats::dead_lettered`], and sent to the mailbox's dead-letter
//! mailbox if it has one). If it is started again (an operator restarts
//! it, or its supervisor is restarted), the mailbox takes new messages; the dead ones are not
//! delivered late. A restart of the consumer's supervisor is a restart, not an end: the queue
//! stays open and waits for it.
//!
//! At the tree's shutdown the consumer is not cancelled when its turn to stop comes: its
//! mailbox closes (sends fail with [`CloseReason::Shutdown`]), it receives what is queued,
//! and `recv` returns `None`; only then is its context cancelled. Its shutdown policy bounds
//! the drain: a consumer still draining at its timeout is aborted, and what is left is
//! counted as queued (an at-least-once message it held, as in doubt). A consumer not running
//! at shutdown (backing off, or waiting for a dependency) with messages waiting gets one
//! attempt at once to drain them. A mailbox built with
//! [`drain_on_shutdown(false)`](MailboxBuilder::drain_on_shutdown) opts out of both: its
//! consumer is cancelled at its turn as any child, and what is left is undelivered (and
//! [taken out](Mailbox::take_undelivered) after shutdown, to keep). Children that send into
//! the mailbox and say so ([`ChildSpec::produces`](crate::ChildSpec::produces)) stop before
//! it closes, so their last messages are received.
//!
//! The promise: a send that returned `Ok` is processed (received at most once; acknowledged
//! or rejected at least once), dead-lettered, or counted as undelivered or in doubt in the
//! shutdown report. `std::mem::forget` of a [`Delivery`] is the one way to lose a message
//! silently.
//!
//! ```
//! use supervisor::mailbox::{Inbox, Mailbox, service_with_inbox};
//! use supervisor::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (orders, consumer) = Mailbox::<u32>::bounded("orders", 64)?;
//! let router = service_with_inbox("order_router", consumer, |_ctx, inbox: &mut Inbox<u32>| {
//!     Box::pin(async move {
//!         // `None` once the tree shuts down and every queued order was received.
//!         while let Some(order) = inbox.recv().await {
//!             if order == 2 {
//!                 return Err(ServiceError::from("the exchange hung up"));
//!             }
//!         }
//!         Ok(())
//!     })
//! });
//! let spec = SupervisorSpec::builder("bot").child(router).build()?;
//! let config = SupervisorConfig::default().without_signal_handler();
//! let tree = Supervisor::start_with_config(spec, config).await?;
//! let outbox = orders.sender();
//! for order in 1..=4 {
//!     outbox.send(order).await?;
//! }
//! tokio::time::sleep(std::time::Duration::from_secs(1)).await;
//! // Order 2 was in hand when its attempt failed; 3 and 4 waited for the restart.
//! let stats = orders.stats();
//! assert_eq!((stats.sent, stats.delivered, stats.queued), (4, 4, 0));
//! let report = tree.shutdown_tree("example", "done").await;
//! assert_eq!(report.services[0].outcome, StopOutcome::Graceful);
//! # Ok(())
//! # }
//! ```

mod builder;
mod dead_letter;
mod delivery;
mod error;
mod inbox;
mod mode;
mod outbox;
mod service;
mod shared;
mod stats;
mod undelivered;

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

pub use builder::MailboxBuilder;
pub use dead_letter::{DeadLetter, DeadLetterReason};
pub use delivery::{AckInbox, Delivery};
pub use error::{CloseReason, SendError, SendTimeoutError, TryRecvError, TrySendError};
pub use inbox::{Consumer, Inbox, InboxFuture};
pub use mode::{AtLeastOnce, AtMostOnce, DeliveryMode};
pub use outbox::{ConsumerState, Outbox};
pub use service::service_with_inbox;
use shared::Shared;
pub use stats::MailboxStats;
pub use undelivered::Undelivered;

use crate::error::SpecError;
use crate::model::TerminationReason;

/// The most messages a mailbox holds (Tokio's bound for a channel).
pub const MAX_CAPACITY: usize = usize::MAX >> 3;

/// A mailbox declared for a tree: the handle to make senders and read its counts. Cheap to
/// clone. `D` is its delivery mode, [`AtMostOnce`] unless built
/// [`at_least_once`](MailboxBuilder::at_least_once). See the [module docs](self).
pub struct Mailbox<T, D = AtMostOnce> {
    shared: Arc<Shared<T>>,
    mode: PhantomData<D>,
}

impl<T, D> Clone for Mailbox<T, D> {
    fn clone(&self) -> Self {
        Mailbox {
            shared: Arc::clone(&self.shared),
            mode: PhantomData,
        }
    }
}

impl<T, D> fmt::Debug for Mailbox<T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("name", &self.shared.name)
            .field("capacity", &self.shared.capacity)
            .field("max_deliveries", &self.shared.max_deliveries())
            .finish()
    }
}

impl<T: Send + 'static> Mailbox<T> {
    /// An at-most-once mailbox named `name` holding at most `capacity` messages, and the
    /// right to consume it, for one child. [`builder`](Self::builder) declares more.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidMailbox`] when the name is empty or the capacity is 0 or above
    /// [`MAX_CAPACITY`].
    pub fn bounded(
        name: impl Into<Arc<str>>,
        capacity: usize,
    ) -> Result<(Mailbox<T>, Consumer<T>), SpecError> {
        Self::builder(name, capacity).build()
    }

    /// A mailbox named `name` holding at most `capacity` messages, to declare further: at
    /// least once, a dead-letter mailbox.
    pub fn builder(name: impl Into<Arc<str>>, capacity: usize) -> MailboxBuilder<T> {
        MailboxBuilder::new(name.into(), capacity)
    }
}

impl<T: Send + 'static, D: DeliveryMode> Mailbox<T, D> {
    /// A sender.
    pub fn sender(&self) -> Outbox<T> {
        Outbox {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// How many messages it holds at most.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Messages queued now for their first delivery (those given back for redelivery are
    /// counted in [`MailboxStats::in_doubt`]).
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Whether no message is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its counts so far.
    pub fn stats(&self) -> MailboxStats {
        self.shared.stats()
    }

    /// Once its tree has ended: the messages it still held, taken out (a second call gets
    /// none). Before, none: they are still on their way. Those not taken are dropped with
    /// the last handle to the mailbox.
    ///
    /// ```
    /// use supervisor::mailbox::{Inbox, Mailbox, service_with_inbox};
    /// use supervisor::prelude::*;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (orders, consumer) = Mailbox::<u32>::builder("orders", 8).drain_on_shutdown(false).build()?;
    /// // A router that never gets going: its orders wait.
    /// let router = service_with_inbox("router", consumer, |_ctx, _inbox: &mut Inbox<u32>| {
    ///     Box::pin(async { Err::<(), _>(ServiceError::from("no connection")) })
    /// })
    /// .with_backoff(BackoffConfig::new(std::time::Duration::from_secs(60), std::time::Duration::from_secs(60)));
    /// let spec = SupervisorSpec::builder("bot").child(router).build()?;
    /// let tree = Supervisor::start_with_config(spec, SupervisorConfig::default().without_signal_handler()).await?;
    /// orders.sender().send(7).await?;
    /// orders.sender().send(8).await?;
    /// tree.shutdown_tree("operator", "done").await;
    /// let left = orders.take_undelivered();
    /// assert_eq!(left.queued, [7, 8]);
    /// assert!(orders.take_undelivered().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn take_undelivered(&self) -> Undelivered<T> {
        self.shared.take_undelivered()
    }
}

/// What a `#[service]` fn may borrow for each attempt (`orders: &mut Inbox<Order>`, or
/// `&mut AckInbox<Order>`): its `spec(..)` takes the `Source` in that argument's place (the
/// mailbox's [`Consumer`], whose delivery mode must match).
#[diagnostic::on_unimplemented(
    message = "a service borrows only a mailbox's inbox, not `{Self}`",
    label = "take `&mut Inbox<T>` (or `&mut AckInbox<T>`) here, or an owned value",
    note = "extra arguments are captured once and cloned for every attempt: take an owned type (`String`, `Arc<T>`, ...); a mailbox's inbox is the one borrowed argument, lent by the tree for each attempt"
)]
pub trait Lease {
    /// What the spec takes to lend it.
    type Source;
}

impl<T: Send + 'static, D: DeliveryMode> Lease for Inbox<T, D> {
    type Source = Consumer<T, D>;
}

/// A mailbox, whatever its message type, compared by identity: what a child declares it
/// sends into ([`ChildSpec::produces`](crate::ChildSpec::produces)).
#[derive(Clone)]
pub(crate) struct MailboxRef(pub(crate) Arc<dyn MailboxControl>);

impl MailboxRef {
    fn of<T: Send + 'static>(shared: &Arc<Shared<T>>) -> Self {
        let shared: Arc<Shared<T>> = Arc::clone(shared);
        MailboxRef(shared)
    }

    /// Its identity while it lives (the references keep it alive).
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.0).cast::<()>() as usize
    }
}

impl PartialEq for MailboxRef {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl fmt::Debug for MailboxRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mailbox({:?})", self.0.name())
    }
}

impl<T: Send + 'static, D: DeliveryMode> Mailbox<T, D> {
    pub(crate) fn erased(&self) -> MailboxRef {
        MailboxRef::of(&self.shared)
    }
}

/// The attempt of the consumer that holds an inbox, for the events it reports (with the
/// consumer's path, which its mailbox keeps: copied per attempt, it would cost every restart
/// two atomic writes for an event that comes at most once).
#[derive(Clone, Copy)]
pub(crate) struct ConsumerAttempt {
    pub(crate) generation: u64,
    pub(crate) attempt: u32,
}

/// Where an inbox reports its consumer's mailbox events (the tree's journal and
/// subscribers); held weakly, as the tree holds its mailboxes.
pub(crate) trait MailboxEvents: Send + Sync {
    fn emit_for(&self, path: &Arc<str>, consumer: ConsumerAttempt, kind: crate::observe::EventKind);
}

/// Whether the child at `path` (or one below it) is the one consuming `mailbox`, or nobody is:
/// a clone of a consumer's spec (in another supervisor, or another tree), whose attempts are
/// refused the inbox, neither closes nor counts the mailbox its consumer reads.
pub(crate) fn consumed_within(mailbox: &dyn MailboxControl, path: &str) -> bool {
    mailbox.other_consumer(path).is_none_or(|consumer| {
        consumer
            .strip_prefix(path)
            .is_some_and(|below| below.starts_with('/'))
    })
}

/// What the tree does to the mailbox of a consumer child, whatever its message type.
pub(crate) trait MailboxControl: Send + Sync {
    fn name(&self) -> &str;
    /// The dead-letter mailbox it sends into, if any: its consumer is that one's producer.
    fn feeds(&self) -> Option<MailboxRef>;
    /// Its consumer terminated for good; returns how many messages were dead-lettered.
    fn orphan(&self, reason: TerminationReason) -> u64;
    /// Its consumer, `child`, starts again; returns how many messages were dead-lettered.
    fn revive(&self, child: &Arc<crate::context::ChildShared>) -> u64;
    /// Whether its consumer, not running as the tree shuts down, is to drain it: a message
    /// waits, and draining at shutdown is on.
    fn wants_drain(&self) -> bool;
    /// Whether its consumer drains it at shutdown before it is cancelled.
    fn drains_on_shutdown(&self) -> bool;
    /// Its tree, for the events its inbox reports (set once, when the tree lists it).
    fn observe(&self, events: std::sync::Weak<dyn MailboxEvents>);
    /// `child` consumes it (its slot is made), unless another child still in a tree does:
    /// then that one's path.
    fn claim(&self, child: &Arc<crate::context::ChildShared>) -> Result<(), Arc<str>>;
    /// The path of the child consuming it, if that is a child other than one at `path`.
    fn other_consumer(&self, path: &str) -> Option<Arc<str>>;
    /// The tree is shutting down.
    fn close(&self);
    /// The tree is shutting down and its consumer's attempt of `token` drains it: that token
    /// is cancelled once the last message is received (handed over here, not cloned into
    /// every attempt's inbox: the one clone is paid at shutdown, not at each restart).
    fn close_draining(&self, token: tokio_util::sync::CancellationToken);
    /// Its consumer's attempt failed with `failure` (for the dead letters of the messages it
    /// gave back; its message is formatted only for one).
    fn attempt_failed(&self, failure: &crate::observe::Failure);
    /// The tree has ended: closes it and counts what is left.
    fn finish(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    fn stats(&self) -> MailboxStats;
}

impl<T: Send + 'static> MailboxControl for Shared<T> {
    fn name(&self) -> &str {
        &self.name
    }

    fn feeds(&self) -> Option<MailboxRef> {
        self.dead_letter_target()
    }

    fn orphan(&self, reason: TerminationReason) -> u64 {
        Shared::orphan(self, reason)
    }

    fn revive(&self, child: &Arc<crate::context::ChildShared>) -> u64 {
        Shared::revive(self, child)
    }

    fn wants_drain(&self) -> bool {
        self.drain_on_shutdown && self.has_waiting()
    }

    fn drains_on_shutdown(&self) -> bool {
        self.drain_on_shutdown
    }

    fn observe(&self, events: std::sync::Weak<dyn MailboxEvents>) {
        let _ = self.events.set(events);
    }

    fn claim(&self, child: &Arc<crate::context::ChildShared>) -> Result<(), Arc<str>> {
        Shared::claim(self, child)
    }

    fn other_consumer(&self, path: &str) -> Option<Arc<str>> {
        Shared::other_consumer(self, path)
    }

    fn close(&self) {
        Shared::close(self);
    }

    fn close_draining(&self, token: tokio_util::sync::CancellationToken) {
        Shared::close_draining(self, token);
    }

    fn attempt_failed(&self, failure: &crate::observe::Failure) {
        Shared::attempt_failed(self, failure);
    }

    fn finish(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(Shared::finish(self))
    }

    fn stats(&self) -> MailboxStats {
        Shared::stats(self)
    }
}
