//! A consumer child: each attempt runs with the mailbox's inbox borrowed.

use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::inbox::{Consumer, Inbox, InboxFuture};
use super::mode::DeliveryMode;
use super::{MailboxControl, Shared};
use crate::context::TaskContext;
use crate::error::ServiceError;
use crate::model::RestartPolicy;
use crate::runtime::MakeAttempt;
use crate::spec::{ChildSpec, ServiceOutput};

/// An async child that consumes the mailbox of `consumer`: `run` makes each attempt's future
/// from its context and the borrowed inbox (box it: `|ctx, inbox| Box::pin(async move {
/// .. })`). Defaults as [`service_fn`](crate::service_fn).
///
/// The inbox goes back to the tree when the attempt ends, however it ends, with what is
/// still queued; see the [module docs](super).
pub fn service_with_inbox<T, D, F, R>(
    name: impl Into<Arc<str>>,
    consumer: Consumer<T, D>,
    run: F,
) -> ChildSpec
where
    T: Send + 'static,
    D: DeliveryMode,
    F: for<'a> Fn(TaskContext, &'a mut Inbox<T, D>) -> InboxFuture<'a, R> + Send + Sync + 'static,
    R: ServiceOutput + 'static,
{
    let control: Arc<dyn MailboxControl> = Arc::clone(&consumer.shared) as Arc<Shared<T>>;
    ChildSpec::consumer(
        name.into(),
        Arc::new(InboxAttempts {
            consumer,
            control,
            run,
        }),
        RestartPolicy::OnFailure,
    )
}

struct InboxAttempts<T, D, F> {
    consumer: Consumer<T, D>,
    /// The same mailbox, as the tree controls it.
    control: Arc<dyn MailboxControl>,
    run: F,
}

impl<T, D, F, R> MakeAttempt for InboxAttempts<T, D, F>
where
    T: Send + 'static,
    D: DeliveryMode,
    F: for<'a> Fn(TaskContext, &'a mut Inbox<T, D>) -> InboxFuture<'a, R> + Send + Sync + 'static,
    R: ServiceOutput + 'static,
{
    type Future = InboxRun<T, D, F, R>;

    fn make(self: Arc<Self>, ctx: TaskContext) -> Self::Future {
        InboxRun {
            future: None,
            inbox: None,
            start: Some((self, ctx)),
            _pinned: PhantomPinned,
        }
    }

    fn mailbox(&self) -> Option<&Arc<dyn MailboxControl>> {
        Some(&self.control)
    }
}

/// What an attempt is made from on its first poll.
type Start<T, D, F> = (Arc<InboxAttempts<T, D, F>>, TaskContext);

/// One attempt of a consumer: its future and the inbox it borrows, side by side, so that an
/// attempt costs no allocation of its own (the future the user boxed aside).
pub(crate) struct InboxRun<T, D, F, R> {
    /// Declared first: dropped before the inbox it borrows.
    future: Option<InboxFuture<'static, R>>,
    /// Leased on the first poll, once this is pinned where it stays.
    inbox: Option<Inbox<T, D>>,
    /// Until the first poll.
    start: Option<Start<T, D, F>>,
    /// `future` points into `inbox`: this must never move once polled.
    _pinned: PhantomPinned,
}

impl<T, D, F, R> Future for InboxRun<T, D, F, R>
where
    T: Send + 'static,
    D: DeliveryMode,
    F: for<'a> Fn(TaskContext, &'a mut Inbox<T, D>) -> InboxFuture<'a, R> + Send + Sync + 'static,
    R: ServiceOutput + 'static,
{
    type Output = Result<(), ServiceError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out of `this`; `inbox` is written once, before `future`
        // borrows it, and not touched again until `future` is gone (field order drops it
        // first); `PhantomPinned` keeps the compiler from assuming `&mut Self` unaliased.
        let this = unsafe { self.get_unchecked_mut() };
        if let Some((attempts, ctx)) = this.start.take() {
            let inbox = match attempts.consumer.lease(&ctx) {
                Ok(inbox) => inbox,
                Err(refused) => return Poll::Ready(Err(refused)),
            };
            let inbox: *mut Inbox<T, D> = this.inbox.insert(inbox);
            // SAFETY: see above: the inbox outlives the future that borrows it and stays
            // where it is (pinned); the `'static` never escapes this struct.
            let inbox: &'static mut Inbox<T, D> = unsafe { &mut *inbox };
            this.future = Some((attempts.run)(ctx, inbox));
        }
        match &mut this.future {
            Some(future) => future
                .as_mut()
                .poll(cx)
                .map(ServiceOutput::into_service_result),
            // Polled after completion: the runtime never does this.
            None => Poll::Pending,
        }
    }
}
