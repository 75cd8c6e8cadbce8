//! At least once: the consumer holds one message at a time as a [`Delivery`], and a delivery
//! not acknowledged goes back to the front of the mailbox.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::dead_letter::DeadLetterReason;
use super::error::TryRecvError;
use super::inbox::Inbox;
use super::mode::AtLeastOnce;
use super::shared::Requeued;

/// What an attempt of an at-least-once mailbox's consumer receives from
/// (`&mut AckInbox<T>` in a `#[service]` fn): each message comes as a [`Delivery`], to
/// [`ack`](Delivery::ack) once it is processed.
///
/// A delivery dropped without `ack` (the attempt returned an error, panicked, was cancelled or
/// aborted while holding it) goes back to the front of the mailbox and is delivered again,
/// before any later message, with [`deliveries`](Delivery::deliveries) one higher; after
/// `max_deliveries` deliveries it becomes a dead letter (a poison message does not block the
/// mailbox for ever). A message is delivered exactly once when no failure comes between its
/// first delivery and its `ack`.
///
/// `std::mem::forget` of a delivery is the one way to lose a message silently: it is neither
/// acknowledged nor given back.
///
/// ```
/// use supervisor::mailbox::{AckInbox, Mailbox, service_with_inbox};
/// use supervisor::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (orders, consumer) = Mailbox::<u32>::builder("orders", 64).at_least_once(3).build()?;
/// let router = service_with_inbox("order_router", consumer, |_ctx, inbox: &mut AckInbox<u32>| {
///     Box::pin(async move {
///         while let Some(order) = inbox.recv().await {
///             if *order == 2 && order.deliveries() == 1 {
///                 // `order` is dropped unacknowledged: it comes back first.
///                 return Err(ServiceError::from("the exchange hung up"));
///             }
///             order.ack();
///         }
///         Ok(())
///     })
/// });
/// let spec = SupervisorSpec::builder("bot").child(router).build()?;
/// let config = SupervisorConfig::default().without_signal_handler();
/// let tree = Supervisor::start_with_config(spec, config).await?;
/// for order in 1..=3 {
///     orders.sender().send(order).await?;
/// }
/// tokio::time::sleep(std::time::Duration::from_secs(1)).await;
/// let report = tree.shutdown_tree("example", "done").await;
/// let stats = &report.mailboxes[0];
/// // Order 2 was delivered twice and acknowledged once: nothing lost, nothing in doubt.
/// assert_eq!((stats.sent, stats.redelivered, stats.acked, stats.in_doubt), (3, 1, 3, 0));
/// # Ok(())
/// # }
/// ```
pub type AckInbox<T> = Inbox<T, AtLeastOnce>;

/// How a delivery given back by dropping it, with no failure of its attempt known, is
/// described in its dead letter.
const DROPPED: &str = "dropped without ack";

impl<T: Send + 'static> Inbox<T, AtLeastOnce> {
    /// The next message, waiting for one: a message given back comes first. `None` once the
    /// tree is shutting down and every queued message was received (then the attempt's
    /// context is cancelled too).
    ///
    /// Cancel safe: if this future is dropped before it is ready (in a `select!`), no message
    /// was taken.
    pub async fn recv(&mut self) -> Option<Delivery<'_, T>> {
        // Checked here, inline: a message is given back only after a failure or a nack.
        if self.held.given_back.is_some()
            && let Some((message, deliveries)) = self.take_given_back()
        {
            return Some(Delivery::new(self, message, deliveries));
        }
        let message = self.receive_fresh().await?;
        Some(Delivery::new(self, message, 1))
    }

    /// The next message if one is queued now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when none is; [`TryRecvError::Closed`] once the tree is
    /// shutting down and every queued message was received.
    pub fn try_recv(&mut self) -> Result<Delivery<'_, T>, TryRecvError> {
        if self.held.given_back.is_some()
            && let Some((message, deliveries)) = self.take_given_back()
        {
            return Ok(Delivery::new(self, message, deliveries));
        }
        let message = self.try_receive_fresh()?;
        Ok(Delivery::new(self, message, 1))
    }

    /// The message given back, if it may be delivered again, with its delivery count
    /// (counting this one); one delivered `max_deliveries` times becomes a dead letter.
    #[cold]
    fn take_given_back(&mut self) -> Option<(T, u32)> {
        let Requeued {
            message,
            deliveries,
            ending,
        } = *self.held.given_back.take()?;
        if deliveries < self.shared.max_deliveries().unwrap_or(u32::MAX) {
            self.counts.redelivered += 1;
            self.counted();
            return Some((message, deliveries.saturating_add(1)));
        }
        let last_failure = ending.unwrap_or_else(|| Arc::from(DROPPED));
        tracing::warn!(
            mailbox = %self.shared.name,
            deliveries,
            %last_failure,
            "a message delivered too many times is dead-lettered"
        );
        self.counts.spent += 1;
        self.shared.publish(&mut self.counts);
        let text =
            format!("delivered {deliveries} times, never acknowledged; last: {last_failure}");
        let reason = DeadLetterReason::MaxDeliveries { last_failure };
        self.shared.dead_letter(message, deliveries, reason);
        let mailbox = Arc::clone(&self.shared.name);
        self.shared
            .emit(self.consumer, || crate::observe::EventKind::DeadLettered {
                mailbox,
                count: 1,
                reason: text,
            });
        None
    }

    /// Puts a message back at the front, for its next delivery. The place is free: the
    /// delivery borrowed the inbox, and took what was there before it.
    fn give_back(&mut self, message: T, deliveries: u32, ending: Option<Arc<str>>) {
        self.held.given_back = Some(Box::new(Requeued {
            message,
            deliveries,
            ending,
        }));
    }
}

/// One message of an at-least-once mailbox in the consumer's hand; it derefs to the message.
/// [`ack`](Self::ack) it once processed. Dropped without `ack` (by `?`, a panic, a
/// cancellation), it goes back to the front of the mailbox for the next delivery. It borrows
/// the inbox: one message is in hand at a time.
#[must_use = "a delivery dropped without ack() is delivered again"]
pub struct Delivery<'a, T: Send + 'static> {
    inbox: &'a mut Inbox<T, AtLeastOnce>,
    /// `Some` until `ack`, `reject` or `nack` takes it, each consuming the delivery.
    message: Option<T>,
    deliveries: u32,
}

impl<'a, T: Send + 'static> Delivery<'a, T> {
    fn new(inbox: &'a mut Inbox<T, AtLeastOnce>, message: T, deliveries: u32) -> Self {
        Delivery {
            inbox,
            message: Some(message),
            deliveries,
        }
    }

    /// How many times the message was delivered, this time included: 1 the first time. Above
    /// 1, an earlier attempt had it in hand and failed, perhaps after acting on it: check
    /// (by the order's client id, say) before doing it again.
    pub fn deliveries(&self) -> u32 {
        self.deliveries
    }

    /// Processed: it is never delivered again. Returns the message.
    pub fn ack(mut self) -> T {
        self.inbox.counts.acked += 1;
        self.take()
    }

    /// Invalid, not to be retried: removed, counted as rejected, not delivered again.
    /// Returns the message.
    pub fn reject(mut self) -> T {
        self.inbox.counts.rejected += 1;
        self.take()
    }

    /// Not now: back at the front of the mailbox, delivered next (counting a delivery, so
    /// `max_deliveries` bounds nacks too).
    pub fn nack(mut self) {
        let message = self.take();
        let deliveries = self.deliveries;
        self.inbox.give_back(
            message,
            deliveries,
            Some(Arc::from("nacked by the consumer")),
        );
    }

    fn take(&mut self) -> T {
        match self.message.take() {
            Some(message) => message,
            // Only `ack`, `reject` and `nack` take it, and each consumes the delivery.
            None => unreachable!("a delivery's message is taken once"),
        }
    }
}

impl<T: Send + 'static> Deref for Delivery<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.message {
            Some(message) => message,
            // Only `ack`, `reject` and `nack` take it, and each consumes the delivery.
            None => unreachable!("a delivery's message is taken once"),
        }
    }
}

impl<T: Send + 'static> Drop for Delivery<'_, T> {
    /// Not acknowledged: back at the front, for the next delivery.
    fn drop(&mut self) {
        if let Some(message) = self.message.take() {
            let deliveries = self.deliveries;
            self.inbox.give_back(message, deliveries, None);
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Delivery<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("mailbox", &self.inbox.shared.name)
            .field("deliveries", &self.deliveries)
            .finish_non_exhaustive()
    }
}
