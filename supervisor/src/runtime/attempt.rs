use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;
use tracing::Instrument;

use crate::context::TaskContext;
use crate::error::ServiceError;
use crate::model::TimeoutKind;
use crate::runtime::NodeMessage;
use crate::spec::BlockingFactory;

/// How one attempt ended, as reported to its supervisor's control loop.
pub(crate) struct AttemptExit {
    pub(crate) index: usize,
    /// The child's incarnation (its slot may hold another child later).
    pub(crate) generation: u64,
    pub(crate) attempt: u32,
    /// `None`: dropped before it ended (aborted, or its runtime shut down).
    pub(crate) outcome: Option<Outcome>,
    /// A panic from the attempt's `Drop` while it was being aborted.
    pub(crate) abort_panic: Option<String>,
}

/// Where and as what an attempt reports its exit: exactly once, when it ends or when it is
/// dropped unfinished, after its future has been dropped.
pub(crate) struct ExitReport {
    pub(crate) inbox: UnboundedSender<NodeMessage>,
    pub(crate) index: usize,
    pub(crate) generation: u64,
    pub(crate) attempt: u32,
}

impl ExitReport {
    fn send(self, outcome: Option<Outcome>, abort_panic: Option<String>) {
        let exit = AttemptExit {
            index: self.index,
            generation: self.generation,
            attempt: self.attempt,
            outcome,
            abort_panic,
        };
        // A loop that has ended has nobody left to tell (its runtime is shutting down).
        let _ = self.inbox.send(NodeMessage::Exit(exit));
    }
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

    /// The attempt's future; it may keep `self` (a service it borrows from).
    fn make(self: Arc<Self>, ctx: TaskContext) -> Self::Future;

    /// The mailbox these attempts consume, if any.
    fn mailbox(&self) -> Option<&std::sync::Arc<dyn crate::mailbox::MailboxControl>> {
        None
    }
}

/// Spawns attempts of one async child (type-erased [`MakeAttempt`]: what a `ChildSpec`
/// holds).
pub(crate) trait SpawnAttempt: Send + Sync {
    fn spawn(
        self: Arc<Self>,
        report: ExitReport,
        ctx: TaskContext,
        span: tracing::Span,
    ) -> AbortHandle;

    /// Like `spawn`, the attempt wrapped so that a test kit can inject faults into it.
    #[cfg(feature = "testing")]
    fn spawn_with_faults(
        self: Arc<Self>,
        report: ExitReport,
        ctx: TaskContext,
        span: tracing::Span,
        board: Arc<crate::testing::FaultBoard>,
    ) -> AbortHandle;

    /// The mailbox these attempts consume, if any.
    fn mailbox(&self) -> Option<&std::sync::Arc<dyn crate::mailbox::MailboxControl>>;
}

impl<M: MakeAttempt> SpawnAttempt for M {
    fn spawn(
        self: Arc<Self>,
        report: ExitReport,
        ctx: TaskContext,
        span: tracing::Span,
    ) -> AbortHandle {
        tokio::spawn(Attempt::new(report, ctx, self).instrument(span)).abort_handle()
    }

    #[cfg(feature = "testing")]
    fn spawn_with_faults(
        self: Arc<Self>,
        report: ExitReport,
        ctx: TaskContext,
        span: tracing::Span,
        board: Arc<crate::testing::FaultBoard>,
    ) -> AbortHandle {
        let make = Arc::new(crate::testing::FaultyMake { inner: self, board });
        tokio::spawn(Attempt::new(report, ctx, make).instrument(span)).abort_handle()
    }

    fn mailbox(&self) -> Option<&std::sync::Arc<dyn crate::mailbox::MailboxControl>> {
        MakeAttempt::mailbox(self)
    }
}

/// The task of one attempt: makes its future on first poll, catches panics from that and
/// from the service, and reports its exit (see [`ExitReport`]) with its child's identity.
pub(crate) struct Attempt<M: MakeAttempt> {
    /// Taken when the exit is reported.
    report: Option<ExitReport>,
    state: State<M>,
}

enum State<M: MakeAttempt> {
    Init(Arc<M>, TaskContext),
    /// Pinned in place: never moved out, only dropped where it is.
    Running(M::Future),
    Done,
}

impl<M: MakeAttempt> Attempt<M> {
    pub(crate) fn new(report: ExitReport, ctx: TaskContext, make: Arc<M>) -> Self {
        Attempt {
            report: Some(report),
            state: State::Init(make, ctx),
        }
    }
}

impl<M: MakeAttempt> Future for Attempt<M> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
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
                // Polled after completion: the runtime never does this.
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
        if let Some(report) = this.report.take() {
            report.send(Some(outcome), None);
        }
        Poll::Ready(())
    }
}

impl<M: MakeAttempt> Drop for Attempt<M> {
    /// Dropped unfinished (aborted, or its runtime shut down): the future goes first (in
    /// place, a panic from its `Drop` caught), then the loop hears of it.
    fn drop(&mut self) {
        let Some(report) = self.report.take() else {
            return;
        };
        let panic = catch_unwind(AssertUnwindSafe(|| self.state = State::Done))
            .err()
            .map(consume_panic);
        report.send(None, panic);
    }
}

/// The attempts of a blocking child: each runs its function on the blocking pool; its task
/// waits for it. Aborting that task detaches the thread (blocking code cannot be aborted).
pub(crate) struct BlockingAttempts(pub(crate) BlockingFactory);

impl MakeAttempt for BlockingAttempts {
    type Future = BlockingRun;

    fn make(self: Arc<Self>, ctx: TaskContext) -> BlockingRun {
        let (factory, span) = (Arc::clone(&self.0), tracing::Span::current());
        let work = tokio::task::spawn_blocking(move || {
            span.in_scope(|| catch_unwind(AssertUnwindSafe(|| factory(ctx))).map_err(consume_panic))
        });
        BlockingRun(work)
    }
}

/// One blocking attempt, awaited. A panic on its thread panics here again (without the
/// hook), so that the attempt reports it like any other.
pub(crate) struct BlockingRun(tokio::task::JoinHandle<Result<Result<(), ServiceError>, String>>);

impl Future for BlockingRun {
    type Output = Result<(), ServiceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let joined = std::task::ready!(Pin::new(&mut self.0).poll(cx));
        Poll::Ready(match joined {
            Ok(Ok(result)) => result,
            Ok(Err(message)) => std::panic::resume_unwind(Box::new(message)),
            Err(error) => match error.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                // The runtime is shutting down and dropped the work before it ran.
                Err(_) => Err(ServiceError::from("the blocking pool shut down")),
            },
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
