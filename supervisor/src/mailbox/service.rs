//! A consumer child: each attempt runs with the mailbox's inbox borrowed.

use std::sync::Arc;

use super::inbox::{Consumer, Inbox, InboxFuture};
use super::mode::DeliveryMode;
use super::{MailboxControl, Shared};
use crate::context::TaskContext;
use crate::error::ServiceError;
use crate::model::RestartPolicy;
use crate::runtime::MakeAttempt;
use crate::service::ServiceFuture;
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
    ChildSpec::consumer(
        name.into(),
        Arc::new(InboxAttempts { consumer, run }),
        RestartPolicy::OnFailure,
    )
}

struct InboxAttempts<T, D, F> {
    consumer: Consumer<T, D>,
    run: F,
}

impl<T, D, F, R> MakeAttempt for InboxAttempts<T, D, F>
where
    T: Send + 'static,
    D: DeliveryMode,
    F: for<'a> Fn(TaskContext, &'a mut Inbox<T, D>) -> InboxFuture<'a, R> + Send + Sync + 'static,
    R: ServiceOutput + 'static,
{
    type Future = ServiceFuture<'static>;

    fn make(self: Arc<Self>, ctx: TaskContext) -> Self::Future {
        Box::pin(async move {
            // An async attempt's future, and with it its inbox, is dropped before the next
            // attempt starts; only a consumer still running elsewhere could hold it.
            let Some(mut inbox) = self.consumer.lease(&ctx) else {
                return Err(ServiceError::fatal(format!(
                    "mailbox `{}` is held by an earlier attempt that is still running",
                    self.consumer.mailbox()
                )));
            };
            (self.run)(ctx, &mut inbox).await.into_service_result()
        })
    }

    fn mailbox(&self) -> Option<Arc<dyn MailboxControl>> {
        let shared: Arc<Shared<T>> = Arc::clone(&self.consumer.shared);
        Some(shared)
    }
}
