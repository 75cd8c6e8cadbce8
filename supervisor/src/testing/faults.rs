//! Faults injected around a child's attempt, not inside its code: the attempt's future is
//! wrapped, and on its next poll the wrapper fails, panics, returns, stops polling the
//! service (a hang: no more heartbeats, cancellation unheard) or delays its stop.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::context::TaskContext;
use crate::error::ServiceError;
use crate::runtime::MakeAttempt;

/// A fault for a child's attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The attempt ends with this error, as if the service had returned it.
    Fail(String),
    /// The attempt panics with this message.
    Panic(String),
    /// The attempt returns `Ok(())`, as if the service had finished.
    Exit,
    /// The service is no longer polled: it sends no heartbeat and does not see its
    /// cancellation, so it is stopped only by its heartbeat limit or shutdown policy.
    Hang,
    /// When the attempt is cancelled, it takes this much longer to stop.
    SlowStop(Duration),
}

/// The faults waiting for each child, by path, and the waker of its running attempt.
#[derive(Default)]
pub(crate) struct FaultBoard {
    children: Mutex<HashMap<Arc<str>, Entry>>,
}

#[derive(Default)]
struct Entry {
    pending: VecDeque<Fault>,
    /// The running attempt's (attempts of one child never overlap).
    waker: Option<Waker>,
}

impl FaultBoard {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Entry>> {
        self.children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a fault for the child's current attempt (or its next, if none runs now).
    pub(crate) fn inject(&self, path: &str, fault: Fault) {
        let mut children = self.lock();
        let entry = children.entry(Arc::from(path)).or_default();
        entry.pending.push_back(fault);
        if let Some(waker) = entry.waker.take() {
            waker.wake();
        }
    }

    /// Whether an attempt of an async child at `path` was made.
    pub(crate) fn knows(&self, path: &str) -> bool {
        self.lock().contains_key(path)
    }

    /// Notes an attempt of the async child at `path`.
    fn attach(&self, path: &Arc<str>) {
        self.lock().entry(Arc::clone(path)).or_default();
    }

    fn take(&self, path: &Arc<str>, waker: &Waker) -> Option<Fault> {
        let mut children = self.lock();
        let entry = children.entry(Arc::clone(path)).or_default();
        entry.waker = Some(waker.clone());
        entry.pending.pop_front()
    }
}

/// A child's attempts, each wrapped in a [`Faulty`].
pub(crate) struct FaultyMake<M> {
    pub(crate) inner: Arc<M>,
    pub(crate) board: Arc<FaultBoard>,
}

impl<M: MakeAttempt> MakeAttempt for FaultyMake<M> {
    type Future = Faulty<M::Future>;

    fn mailbox(&self) -> Option<&std::sync::Arc<dyn crate::mailbox::MailboxControl>> {
        self.inner.mailbox()
    }

    fn make(self: Arc<Self>, ctx: TaskContext) -> Self::Future {
        let path = ctx.path_shared();
        self.board.attach(&path);
        let token = ctx.cancellation_token().clone();
        Faulty {
            inner: Arc::clone(&self.inner).make(ctx),
            board: Arc::clone(&self.board),
            path,
            token,
            hung: false,
            slow_stop: None,
            stopping: None,
        }
    }
}

/// One attempt's future with the faults it may be given.
pub(crate) struct Faulty<F> {
    inner: F,
    board: Arc<FaultBoard>,
    path: Arc<str>,
    token: CancellationToken,
    hung: bool,
    slow_stop: Option<Duration>,
    /// The service's result, held back for a slow stop until the sleep ends.
    stopping: Option<HeldBack>,
}

/// A result held back until its sleep ends.
type HeldBack = (Pin<Box<tokio::time::Sleep>>, Result<(), ServiceError>);

impl<F: Future<Output = Result<(), ServiceError>>> Future for Faulty<F> {
    type Output = Result<(), ServiceError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is never moved out of the pinned `Faulty`; every other field is
        // `Unpin` and moved freely.
        let this = unsafe { self.get_unchecked_mut() };
        while let Some(fault) = this.board.take(&this.path, cx.waker()) {
            match fault {
                Fault::Fail(message) => return Poll::Ready(Err(ServiceError::from(message))),
                // Unwound without the panic hook; the attempt reports it as a panic.
                Fault::Panic(message) => std::panic::resume_unwind(Box::new(message)),
                Fault::Exit => return Poll::Ready(Ok(())),
                Fault::Hang => this.hung = true,
                Fault::SlowStop(delay) => this.slow_stop = Some(delay),
            }
        }
        if let Some((mut sleep, result)) = this.stopping.take() {
            if sleep.as_mut().poll(cx).is_pending() {
                this.stopping = Some((sleep, result));
                return Poll::Pending;
            }
            return Poll::Ready(result);
        }
        if this.hung {
            return Poll::Pending;
        }
        // SAFETY: see above.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let result = match inner.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        match this.slow_stop {
            Some(delay) if this.token.is_cancelled() => {
                let mut sleep = Box::pin(tokio::time::sleep(delay));
                if sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(result);
                }
                this.stopping = Some((sleep, result));
                Poll::Pending
            }
            _ => Poll::Ready(result),
        }
    }
}
