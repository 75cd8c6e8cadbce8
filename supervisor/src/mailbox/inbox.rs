//! Consuming a mailbox: each attempt of the consumer borrows the tree-owned receiver and gives
//! it back when it ends, however it ends.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::sync::mpsc;

use super::ConsumerAttempt;
use super::error::TryRecvError;
use super::mode::{AtMostOnce, DeliveryMode};
use super::shared::{Counts, Held, LeaseRefused, Shared};
use crate::context::TaskContext;
use crate::error::ServiceError;

/// The right to consume a mailbox. Not `Clone`: it is moved into exactly one child's spec
/// ([`service_with_inbox`](super::service_with_inbox)). A clone of that child's spec is the
/// one way to a second consumer, and it is refused: by the tree's build, by
/// [`add_child`](crate::SupervisorHandle::add_child) anywhere in the tree, and, in another
/// tree, by its attempts, which fail for good without closing the mailbox. `D` is the
/// mailbox's delivery mode: the consumer takes `&mut Inbox<T>` for [`AtMostOnce`],
/// `&mut AckInbox<T>` for [`AtLeastOnce`](super::AtLeastOnce).
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

    /// The receiver for the attempt of `ctx`; refused, with why, to a child other than the
    /// mailbox's consumer, and while an earlier attempt still holds it.
    pub(crate) fn lease(&self, ctx: &TaskContext) -> Result<Inbox<T, D>, ServiceError> {
        let held = match self.shared.lease_for(ctx.child()) {
            Ok(held) => held,
            Err(LeaseRefused::Consumer(consumer)) => {
                return Err(ServiceError::fatal(format!(
                    "mailbox `{}` is consumed by `{consumer}`: a mailbox has exactly one \
                     consumer child",
                    self.shared.name
                )));
            }
            // An async attempt's future, and with it its inbox, is dropped before the next
            // attempt starts; only an attempt still running elsewhere could hold it.
            Err(LeaseRefused::Held) => {
                return Err(ServiceError::fatal(format!(
                    "mailbox `{}` is held by an earlier attempt that is still running",
                    self.shared.name
                )));
            }
        };
        Ok(Inbox {
            held: ManuallyDrop::new(held),
            shared: Arc::clone(&self.shared),
            counts: Counts::default(),
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
    /// Given back to the mailbox when dropped (taken in `drop` only).
    pub(super) held: ManuallyDrop<Held<T>>,
    pub(super) shared: Arc<Shared<T>>,
    /// Not yet added to the stats.
    pub(super) counts: Counts,
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
        let given_back = self.held.given_back.is_some();
        self.shared.len().saturating_add(usize::from(given_back))
    }

    /// Whether no message is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Publishes the counts once a batch has gathered.
    #[inline]
    pub(super) fn counted(&mut self) {
        self.shared.publish_batch(&mut self.counts);
    }

    /// The next message from the channel, counted as a first delivery; `None` once the
    /// mailbox is closed and the channel empty. Cancel safe: it holds nothing across a
    /// `Pending` but its waker, registered with the mailbox.
    pub(super) fn receive_fresh(&mut self) -> ReceiveFresh<'_, T, D> {
        ReceiveFresh(self)
    }

    /// The per-message path, kept small enough to inline into the consumer's loop; the rest
    /// is [`poll_not_ready`](Self::poll_not_ready).
    #[inline(always)]
    fn poll_fresh(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<T>> {
        match self.held.receiver.poll_recv(cx) {
            Poll::Ready(Some(message)) => {
                self.counts.delivered += 1;
                self.counted();
                Poll::Ready(Some(message))
            }
            Poll::Ready(None) => self.poll_not_ready(true, cx),
            Poll::Pending => self.poll_not_ready(false, cx),
        }
    }

    /// `poll_fresh` once the channel had no message for it: it is `ended` (closed and
    /// empty), or empty (or its task out of budget).
    #[inline(never)]
    fn poll_not_ready(
        &mut self,
        mut ended: bool,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<T>> {
        loop {
            let receiver = &mut self.held.receiver;
            if ended {
                // `None` comes only once the channel is closed (below) and empty, with no
                // send under way: what is queued is received first, closed or not.
                self.shared.publish(&mut self.counts);
                self.shared.drained(self.consumer);
                return Poll::Ready(None);
            }
            // Empty, or out of its task's budget: the stats are exact while it waits.
            self.shared.publish(&mut self.counts);
            // Woken by a message, or by the close; a close seen here closes the channel
            // itself, so that its end is Tokio's: after the last message, and after any send
            // that had room already.
            if !self.shared.wait_for_close(cx.waker()) || receiver.is_closed() {
                return Poll::Pending;
            }
            receiver.close();
            match receiver.poll_recv(cx) {
                Poll::Ready(Some(message)) => {
                    self.counts.delivered += 1;
                    self.counted();
                    return Poll::Ready(Some(message));
                }
                Poll::Ready(None) => ended = true,
                Poll::Pending => ended = false,
            }
        }
    }

    /// The next message from the channel if one is queued now, counted as a first delivery.
    pub(super) fn try_receive_fresh(&mut self) -> Result<T, TryRecvError> {
        let receiver = &mut self.held.receiver;
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
                self.shared.drained(self.consumer);
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
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + Send + '_
    where
        T: Send,
    {
        self.receive_fresh()
    }

    /// Waits for a message, then appends it and those queued behind it, up to `limit` in
    /// all, to `buffer`; returns how many. 0 once the tree is shutting down and every queued
    /// message was received (then the attempt's context is cancelled too), or if `limit` is 0.
    ///
    /// Cancel safe, as [`recv`](Self::recv). At most once, a batch is the attempt's own: if
    /// the attempt fails with part of it unhandled, that part is gone with it.
    ///
    /// ```
    /// use supervisor::mailbox::{Inbox, Mailbox, service_with_inbox};
    /// use supervisor::prelude::*;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (lines, consumer) = Mailbox::<String>::bounded("journal", 256)?;
    /// let writer = service_with_inbox("writer", consumer, |_ctx, inbox: &mut Inbox<String>| {
    ///     Box::pin(async move {
    ///         let mut batch = Vec::with_capacity(64);
    ///         while inbox.recv_many(&mut batch, 64).await > 0 {
    ///             // One write for the whole batch.
    ///             batch.clear();
    ///         }
    ///         Ok::<(), ServiceError>(())
    ///     })
    /// });
    /// let spec = SupervisorSpec::builder("bot").child(writer).build()?;
    /// let config = SupervisorConfig::default().without_signal_handler();
    /// let tree = Supervisor::start_with_config(spec, config).await?;
    /// lines.sender().send("filled 1 BTC".to_owned()).await?;
    /// let report = tree.shutdown_tree("operator", "done").await;
    /// assert_eq!(report.mailboxes[0].delivered, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        let Some(first) = self.receive_fresh().await else {
            return 0;
        };
        buffer.push(first);
        let mut taken = 1;
        // What is queued now; not the end of a closed mailbox, which the next call reports
        // (so that the drain ends after this batch was handled, not before).
        while taken < limit {
            let Ok(message) = self.held.receiver.try_recv() else {
                break;
            };
            buffer.push(message);
            taken += 1;
            self.counts.delivered += 1;
        }
        self.counted();
        taken
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
        // SAFETY: `held` is taken here only, once, and not touched after.
        let held = unsafe { ManuallyDrop::take(&mut self.held) };
        self.shared.return_receiver(held, &mut self.counts);
    }
}

/// An attempt's future that borrows its inbox, as [`service_with_inbox`](super::service_with_inbox) takes it.
pub type InboxFuture<'a, R> = Pin<Box<dyn Future<Output = R> + Send + 'a>>;

/// [`Inbox::receive_fresh`]'s future: a type of its own, so that its poll can be inlined into
/// the consumer's loop.
pub(super) struct ReceiveFresh<'a, T, D>(&'a mut Inbox<T, D>);

impl<T: Send + 'static, D: DeliveryMode> Future for ReceiveFresh<'_, T, D> {
    type Output = Option<T>;

    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Option<T>> {
        self.0.poll_fresh(cx)
    }
}
