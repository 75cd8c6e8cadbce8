//! Consuming a mailbox: each attempt of the consumer borrows the tree-owned receiver and gives
//! it back when it ends, however it ends.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ConsumerAttempt;
use super::error::TryRecvError;
use super::mode::{AtMostOnce, DeliveryMode};
use super::shared::{Counts, Held, Shared};
use crate::context::TaskContext;

/// The right to consume a mailbox. Not `Clone`: it is moved into exactly one child's spec
/// ([`service_with_inbox`](super::service_with_inbox)), so a mailbox cannot get a second
/// consumer. `D` is the mailbox's delivery mode: the consumer takes `&mut Inbox<T>` for
/// [`AtMostOnce`], `&mut AckInbox<T>` for [`AtLeastOnce`](super::AtLeastOnce).
pub struct Consumer<T, D = AtMostOnce> {
    pub(super) shared: Arc<Shared<T>>,
    pub(super) mode: PhantomData<D>,
}

impl<T, D> fmt::Debug for Consumer<T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("mailbox", &self.shared.name)
            .finish()
    }
}

impl<T: Send + 'static, D: DeliveryMode> Consumer<T, D> {
    /// The mailbox's name.
    pub fn mailbox(&self) -> &str {
        &self.shared.name
    }

    /// The receiver for the attempt of `ctx`, or `None` while an earlier attempt still holds
    /// it.
    pub(crate) fn lease(&self, ctx: &TaskContext) -> Option<Inbox<T, D>> {
        let held = self.shared.take_receiver()?;
        Some(Inbox {
            held: Some(held),
            shared: Arc::clone(&self.shared),
            counts: Counts::default(),
            attempt: ctx.cancellation_token().clone(),
            consumer: ctx.consumer_attempt(),
            mode: PhantomData,
        })
    }
}

/// What one attempt of a mailbox's consumer receives from. It is borrowed (`&mut Inbox<T>`),
/// so it cannot outlive the attempt; when the attempt ends (it returns, fails, panics, is
/// cancelled or aborted) the receiver goes back to the tree with every message still queued,
/// in order, for the next attempt.
///
/// With `Inbox<T>` (at most once), the message an attempt has received is its own: if the
/// attempt fails while handling it, it is gone with the attempt, as in Erlang/OTP and Akka.
/// With [`AckInbox<T>`](super::AckInbox) (at least once), it comes back until acknowledged.
pub struct Inbox<T, D = AtMostOnce> {
    /// Always `Some` until dropped.
    pub(super) held: Option<Held<T>>,
    pub(super) shared: Arc<Shared<T>>,
    /// Not yet added to the stats.
    pub(super) counts: Counts,
    /// Its attempt's: cancelled once the mailbox is closed and drained, so that the
    /// consumer's other waits end too.
    attempt: CancellationToken,
    /// Who holds it, for the events it reports.
    pub(super) consumer: ConsumerAttempt,
    mode: PhantomData<D>,
}

impl<T, D> fmt::Debug for Inbox<T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("mailbox", &self.shared.name)
            .finish()
    }
}

impl<T: Send + 'static, D: DeliveryMode> Inbox<T, D> {
    /// The mailbox's name.
    pub fn mailbox(&self) -> &str {
        &self.shared.name
    }

    /// Messages queued now, one given back for redelivery among them.
    pub fn len(&self) -> usize {
        let given_back = self
            .held
            .as_ref()
            .is_some_and(|held| held.given_back.is_some());
        self.shared.len().saturating_add(usize::from(given_back))
    }

    /// Whether no message is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Publishes the counts once a batch has gathered.
    pub(super) fn counted(&mut self) {
        self.shared.publish_batch(&mut self.counts);
    }

    /// The next message from the channel, counted as a first delivery; `None` once the
    /// mailbox is closed and the channel empty. Cancel safe: it holds nothing across a
    /// `Pending` but its waker, registered with the mailbox.
    pub(super) fn receive_fresh(&mut self) -> impl Future<Output = Option<T>> + '_ {
        std::future::poll_fn(move |cx| self.poll_fresh(cx))
    }

    fn poll_fresh(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<T>> {
        let Some(held) = self.held.as_mut() else {
            return Poll::Ready(None);
        };
        let receiver = &mut held.receiver;
        loop {
            // What is queued is received, closed or not. `None` comes only once the channel
            // is closed (below) and empty, with no send under way.
            match receiver.poll_recv(cx) {
                Poll::Ready(Some(message)) => {
                    self.counts.delivered += 1;
                    // `self.counted()` but for the receiver borrowed from `self.held`.
                    self.shared.publish_batch(&mut self.counts);
                    return Poll::Ready(Some(message));
                }
                Poll::Ready(None) => {
                    self.shared.publish(&mut self.counts);
                    self.shared.drained(&self.consumer);
                    self.attempt.cancel();
                    return Poll::Ready(None);
                }
                Poll::Pending => {}
            }
            // Empty, or out of its task's budget: the stats are exact while it waits.
            self.shared.publish(&mut self.counts);
            // Woken by a message, or by the close; a close seen here closes the channel
            // itself, so that its end is Tokio's: after the last message, and after any send
            // that had room already.
            if !self.shared.wait_for_close(cx.waker()) {
                return Poll::Pending;
            }
            if receiver.is_closed() {
                return Poll::Pending;
            }
            receiver.close();
        }
    }

    /// The next message from the channel if one is queued now, counted as a first delivery.
    pub(super) fn try_receive_fresh(&mut self) -> Result<T, TryRecvError> {
        let Some(held) = self.held.as_mut() else {
            return Err(TryRecvError::Closed);
        };
        let receiver = &mut held.receiver;
        if self.shared.is_closed() && !receiver.is_closed() {
            receiver.close();
        }
        match receiver.try_recv() {
            Ok(message) => {
                self.counts.delivered += 1;
                if self.shared.is_closed() {
                    self.shared.publish(&mut self.counts);
                }
                self.counted();
                Ok(message)
            }
            Err(mpsc::error::TryRecvError::Disconnected) => {
                self.shared.publish(&mut self.counts);
                self.shared.drained(&self.consumer);
                self.attempt.cancel();
                Err(TryRecvError::Closed)
            }
            Err(mpsc::error::TryRecvError::Empty) => Err(TryRecvError::Empty),
        }
    }
}

impl<T: Send + 'static> Inbox<T> {
    /// The next message, waiting for one; `None` once the tree is shutting down and every
    /// queued message was received (then the attempt's context is cancelled too).
    ///
    /// Cancel safe: if this future is dropped before it is ready (in a `select!`), no message
    /// was taken.
    pub async fn recv(&mut self) -> Option<T> {
        self.receive_fresh().await
    }

    /// The next message if one is queued now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when none is; [`TryRecvError::Closed`] once the tree is
    /// shutting down and every queued message was received.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.try_receive_fresh()
    }
}

impl<T, D> Drop for Inbox<T, D> {
    /// The receiver goes back to the tree, for the next attempt.
    fn drop(&mut self) {
        if let Some(held) = self.held.take() {
            self.shared.return_receiver(held, &mut self.counts);
        }
    }
}

/// An attempt's future that borrows its inbox, as [`service_with_inbox`](super::service_with_inbox) takes it.
pub type InboxFuture<'a, R> = Pin<Box<dyn Future<Output = R> + Send + 'a>>;
