//! What a running attempt knows about itself and how it talks back to its supervisor.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::observe::{ChildCounters, ChildStats};
use crate::runtime::NodeMessage;

/// The handle an attempt of a service gets: its name and attempt number, its cancellation
/// token, and the means to report heartbeats and readiness.
///
/// Cheap to clone (two reference counts). A context belongs to one attempt: after a restart the
/// new attempt gets a new token, so a context kept from an earlier attempt can never cancel
/// or report for the new one.
///
/// ```
/// use supervisor::TaskContext;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // A detached context, to call a service function directly in a unit test.
/// let ctx = TaskContext::detached("market-feed");
/// assert_eq!(ctx.name(), "market-feed");
/// assert_eq!(ctx.attempt(), 1);
/// ctx.cancellation_token().cancel();
/// ctx.cancelled().await;
/// assert!(ctx.is_cancelled());
/// # }
/// ```
#[derive(Clone)]
pub struct TaskContext {
    child: Arc<ChildShared>,
    token: CancellationToken,
    attempt: u32,
}

/// Per-service state shared between the supervisor and every attempt's context.
pub(crate) struct ChildShared {
    name: Arc<str>,
    /// Its path from the root, made once.
    pub(crate) path: Arc<str>,
    /// Unique in the tree for this incarnation of the child (see `LifecycleEvent::generation`).
    pub(crate) generation: u64,
    index: usize,
    epoch: Instant,
    // Nanoseconds since `epoch` of the last heartbeat, plus one; 0 means never.
    heartbeat: AtomicU64,
    // The highest attempt that reported ready.
    ready_attempt: AtomicU32,
    notify: Option<UnboundedSender<NodeMessage>>,
    /// Its counters and running clock (see `ChildCounters`).
    pub(crate) counters: ChildCounters,
}

impl ChildShared {
    pub(crate) fn new(
        (name, path, generation): (Arc<str>, Arc<str>, u64),
        index: usize,
        epoch: Instant,
        notify: Option<UnboundedSender<NodeMessage>>,
    ) -> Self {
        ChildShared {
            name,
            path,
            generation,
            index,
            epoch,
            heartbeat: AtomicU64::new(0),
            ready_attempt: AtomicU32::new(0),
            notify,
            counters: ChildCounters::default(),
        }
    }

    /// Its counters now.
    pub(crate) fn stats(&self, now: Instant) -> ChildStats {
        self.counters
            .stats(now.saturating_duration_since(self.epoch))
    }

    /// The attempt runs from `now`.
    pub(crate) fn start_running(&self, now: Instant) {
        self.counters
            .start_running(now.saturating_duration_since(self.epoch));
    }

    /// The running attempt stopped running at `now`.
    pub(crate) fn stop_running(&self, now: Instant) {
        self.counters
            .stop_running(now.saturating_duration_since(self.epoch));
    }

    /// Since when the current attempt runs, if one does.
    pub(crate) fn running_since(&self) -> Option<Instant> {
        self.counters.running_since().map(|at| self.epoch + at)
    }

    /// How long it has been silent at `now`: since its last heartbeat, or since the current
    /// attempt began running if that was later; `None` before either.
    pub(crate) fn silence(&self, now: Instant) -> Option<Duration> {
        let last = self.last_heartbeat().max(self.running_since())?;
        Some(now.saturating_duration_since(last))
    }

    /// When the last heartbeat was, if any.
    pub(crate) fn last_heartbeat(&self) -> Option<Instant> {
        match self.heartbeat.load(Ordering::Relaxed) {
            0 => None,
            n => Some(self.epoch + Duration::from_nanos(n - 1)),
        }
    }
}

impl TaskContext {
    /// This attempt, as the mailbox it consumes reports it in events.
    pub(crate) fn consumer_attempt(&self) -> crate::mailbox::ConsumerAttempt {
        crate::mailbox::ConsumerAttempt {
            generation: self.child.generation,
            attempt: self.attempt,
        }
    }

    pub(crate) fn new(child: Arc<ChildShared>, token: CancellationToken, attempt: u32) -> Self {
        TaskContext {
            child,
            token,
            attempt,
        }
    }

    /// A context not attached to any supervisor, for calling a service directly (in a unit
    /// test, say). Heartbeats and readiness are recorded nowhere; cancel it through
    /// [`cancellation_token`](Self::cancellation_token).
    pub fn detached(name: impl Into<Arc<str>>) -> Self {
        let name: Arc<str> = name.into();
        let child = ChildShared::new((Arc::clone(&name), name, 0), 0, Instant::now(), None);
        TaskContext::new(Arc::new(child), CancellationToken::new(), 1)
    }

    /// What its supervisor shares with every attempt of the child.
    pub(crate) fn child(&self) -> &Arc<ChildShared> {
        &self.child
    }

    /// The child's path, shared.
    #[cfg(feature = "testing")]
    pub(crate) fn path_shared(&self) -> Arc<str> {
        Arc::clone(&self.child.path)
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.child.name
    }

    /// Which attempt this is: 1 for the first start, then one more per restart.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// This attempt's cancellation token; cancelled when the supervisor asks it to stop.
    /// Pass clones (or [child tokens](CancellationToken::child_token)) to sub-tasks.
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.token
    }

    /// Whether the supervisor has asked this attempt to stop.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when the supervisor asks this attempt to stop.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: use it in `tokio::select!` beside the service's work.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// Records that the service is alive and making progress. Cheap: one atomic store.
    pub fn heartbeat(&self) {
        let nanos = Instant::now()
            .saturating_duration_since(self.child.epoch)
            .as_nanos()
            .min(u128::from(u64::MAX - 1)) as u64;
        self.child.heartbeat.store(nanos + 1, Ordering::Relaxed);
    }

    /// Reports that this attempt is ready to serve. Only the first call of an attempt is sent;
    /// later calls, and calls from an earlier attempt's context, do nothing.
    pub fn ready(&self) {
        let previous = self
            .child
            .ready_attempt
            .fetch_max(self.attempt, Ordering::AcqRel);
        if previous < self.attempt
            && let Some(notify) = &self.child.notify
        {
            // The supervisor may have stopped already; then nobody needs to know.
            let _ = notify.send(NodeMessage::Ready {
                index: self.child.index,
                attempt: self.attempt,
                child: Arc::clone(&self.child),
            });
        }
    }
}

impl fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskContext")
            .field("name", &self.name())
            .field("attempt", &self.attempt)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
