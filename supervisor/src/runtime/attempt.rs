use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context::TaskContext;
use crate::error::ServiceError;
use crate::model::TimeoutKind;
use crate::service::ServiceFuture;
use crate::spec::{AsyncFactory as Factory, BlockingFactory};

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

/// The task of one attempt: calls the factory on first poll and catches panics from it and
/// from the service, so every exit reaches the control loop with its child's identity.
pub(crate) struct Attempt {
    index: usize,
    attempt: u32,
    state: State,
}

enum State {
    Init(Factory, TaskContext),
    Running(ServiceFuture<'static>),
    Done,
}

impl Attempt {
    pub(crate) fn new(index: usize, ctx: TaskContext, factory: Factory) -> Self {
        Attempt {
            index,
            attempt: ctx.attempt(),
            state: State::Init(factory, ctx),
        }
    }

    /// An attempt whose future already exists (a nested supervisor's loop).
    pub(crate) fn running(index: usize, attempt: u32, future: ServiceFuture<'static>) -> Self {
        Attempt {
            index,
            attempt,
            state: State::Running(future),
        }
    }

    fn exit(&mut self, outcome: Outcome) -> Poll<AttemptExit> {
        self.state = State::Done;
        Poll::Ready(AttemptExit {
            index: self.index,
            attempt: self.attempt,
            outcome,
        })
    }
}

impl Future for Attempt {
    type Output = AttemptExit;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<AttemptExit> {
        // Every field is Unpin (the service future is boxed), so no projection is needed.
        let this = self.get_mut();
        let polled = catch_unwind(AssertUnwindSafe(|| {
            if matches!(this.state, State::Init(..))
                && let State::Init(factory, ctx) = std::mem::replace(&mut this.state, State::Done)
            {
                this.state = State::Running(factory(ctx));
            }
            let polled = match &mut this.state {
                State::Running(future) => future.as_mut().poll(cx),
                // Polled after completion: JoinSet never does this.
                State::Init(..) | State::Done => Poll::Pending,
            };
            if polled.is_ready() {
                // Dropped here, so that a panicking `Drop` of the service is caught too.
                this.state = State::Done;
            }
            polled
        }));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => this.exit(Outcome::Returned(result)),
            Err(payload) => {
                let message = consume_panic(payload);
                drop_guarded(std::mem::replace(&mut this.state, State::Done));
                this.exit(Outcome::Panicked(message))
            }
        }
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
