use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use std::sync::Arc;

use tokio::task::{AbortHandle, JoinSet};
use tracing::Instrument;

use crate::context::TaskContext;
use crate::error::ServiceError;
use crate::model::TimeoutKind;
use crate::service::ServiceFuture;
use crate::spec::BlockingFactory;

/// How one attempt ended, as reported to its supervisor's control loop.
pub(crate) struct AttemptExit {
    pub(crate) index: usize,
    pub(crate) attempt: u32,
    pub(crate) outcome: Outcome,
}

pub(crate) enum Outcome {
    Returned(Result<(), ServiceError>),
    /// The panic's message; the payload itself is dropped where the panic was caught.
    Panicked(String),
    /// Set by the loop, not the task: the attempt missed a deadline and was stopped for it.
    MissedDeadline(TimeoutKind),
}

/// Makes the future of each attempt of one async child. Implemented for the closures of
/// `service_fn` and for `TradingService`s; the attempt's task is generic over it, so the
/// future lives in the task itself, not in a box of its own.
pub(crate) trait MakeAttempt: Send + Sync + 'static {
    type Future: Future<Output = Result<(), ServiceError>> + Send + 'static;

    fn make(&self, ctx: TaskContext) -> Self::Future;
}

/// Spawns attempts of one async child into its supervisor's task set (type-erased
/// [`MakeAttempt`]: what a `ChildSpec` holds).
pub(crate) trait SpawnAttempt: Send + Sync {
    fn spawn(
        self: Arc<Self>,
        tasks: &mut JoinSet<AttemptExit>,
        index: usize,
        ctx: TaskContext,
        span: tracing::Span,
    ) -> AbortHandle;
}

impl<M: MakeAttempt> SpawnAttempt for M {
    fn spawn(
        self: Arc<Self>,
        tasks: &mut JoinSet<AttemptExit>,
        index: usize,
        ctx: TaskContext,
        span: tracing::Span,
    ) -> AbortHandle {
        tasks.spawn(Attempt::new(index, ctx, self).instrument(span))
    }
}

/// A future made already (a nested supervisor's loop).
pub(crate) struct Made(pub(crate) std::sync::Mutex<Option<ServiceFuture<'static>>>);

impl MakeAttempt for Made {
    type Future = ServiceFuture<'static>;

    fn make(&self, _: TaskContext) -> Self::Future {
        let taken = self.0.lock().ok().and_then(|mut made| made.take());
        taken.unwrap_or_else(|| Box::pin(async { Err(ServiceError::from("made twice")) }))
    }
}

/// The task of one attempt: makes its future on first poll and catches panics from that and
/// from the service, so every exit reaches the control loop with its child's identity.
pub(crate) struct Attempt<M: MakeAttempt> {
    index: usize,
    attempt: u32,
    state: State<M>,
}

enum State<M: MakeAttempt> {
    Init(Arc<M>, TaskContext),
    /// Pinned in place: never moved out, only dropped where it is.
    Running(M::Future),
    Done,
}

impl<M: MakeAttempt> Attempt<M> {
    pub(crate) fn new(index: usize, ctx: TaskContext, make: Arc<M>) -> Self {
        Attempt {
            index,
            attempt: ctx.attempt(),
            state: State::Init(make, ctx),
        }
    }
}

impl<M: MakeAttempt> Future for Attempt<M> {
    type Output = AttemptExit;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<AttemptExit> {
        // SAFETY: the future in `State::Running` is never moved: it is polled through a
        // pinned reference and dropped in place (by assigning another state over it). The
        // other fields and states are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let polled = catch_unwind(AssertUnwindSafe(|| {
            if matches!(this.state, State::Init(..))
                && let State::Init(make, ctx) = std::mem::replace(&mut this.state, State::Done)
            {
                this.state = State::Running(make.make(ctx));
            }
            let polled = match &mut this.state {
                // SAFETY: see above; `this.state` is not moved while it runs.
                State::Running(future) => unsafe { Pin::new_unchecked(future) }.poll(cx),
                // Polled after completion: JoinSet never does this.
                State::Init(..) | State::Done => Poll::Pending,
            };
            if polled.is_ready() {
                // Dropped here, so that a panicking `Drop` of the service is caught too.
                this.state = State::Done;
            }
            polled
        }));
        let outcome = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => Outcome::Returned(result),
            Err(payload) => {
                let message = consume_panic(payload);
                // Dropped in place, a panicking `Drop` caught.
                if let Err(second) = catch_unwind(AssertUnwindSafe(|| this.state = State::Done)) {
                    consume_panic(second);
                }
                Outcome::Panicked(message)
            }
        };
        Poll::Ready(AttemptExit {
            index: this.index,
            attempt: this.attempt,
            outcome,
        })
    }
}

/// The message of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// The payload's message; the payload is dropped here, and a payload whose own `Drop` panics
/// is caught (and the second payload leaked), so that no panic escapes to the caller.
pub(crate) fn consume_panic(payload: Box<dyn Any + Send>) -> String {
    let message = panic_message(payload.as_ref());
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
    message
}

/// Drops `value`, catching a panic from its `Drop` (and consuming that payload).
fn drop_guarded<T>(value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        consume_panic(payload);
    }
}

/// Runs `future` to completion, turning a panic into `Err(message)`. On a panic the future is
/// dropped inside the guard too; a panicking `Drop` is caught like the panic itself.
pub(crate) struct CatchPanic<F> {
    future: Option<Pin<Box<F>>>,
}

impl<F: Future> CatchPanic<F> {
    pub(crate) fn new(future: F) -> Self {
        CatchPanic {
            future: Some(Box::pin(future)),
        }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(future) = this.future.as_mut() else {
            return Poll::Pending;
        };
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                this.future = None;
                Poll::Ready(Ok(output))
            }
            Err(payload) => {
                let message = consume_panic(payload);
                drop_guarded(this.future.take());
                Poll::Ready(Err(message))
            }
        }
    }
}

/// One attempt of a blocking child: the function runs on the blocking pool, this task waits
/// for it. Aborting this task detaches the thread (blocking code cannot be aborted).
pub(crate) async fn blocking_attempt(
    index: usize,
    attempt: u32,
    factory: BlockingFactory,
    ctx: TaskContext,
    span: tracing::Span,
) -> AttemptExit {
    let work = tokio::task::spawn_blocking(move || {
        span.in_scope(|| catch_unwind(AssertUnwindSafe(|| factory(ctx))).map_err(consume_panic))
    });
    let outcome = match work.await {
        Ok(Ok(result)) => Outcome::Returned(result),
        Ok(Err(message)) => Outcome::Panicked(message),
        Err(error) => match error.try_into_panic() {
            Ok(payload) => Outcome::Panicked(consume_panic(payload)),
            // The runtime is shutting down and dropped the work before it ran.
            Err(_) => Outcome::Returned(Err(ServiceError::from("the blocking pool shut down"))),
        },
    };
    AttemptExit {
        index,
        attempt,
        outcome,
    }
}
