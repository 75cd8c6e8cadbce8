use std::sync::Arc;

use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::time::delay_queue;

use super::command::Hold;
use crate::context::ChildShared;
use crate::model::{ServicePhase, TerminationReason, TimeoutKind};
use crate::observe::Failure;
use crate::policy::BackoffProgress;
use crate::runtime::shutdown_report::StopOutcome;
use crate::runtime::tree::NestedLink;

/// The control loop's record of one child. Only the loop touches it, so it needs no lock.
pub(crate) struct ChildSlot {
    pub(crate) shared: Arc<ChildShared>,
    /// Where the metrics list it.
    pub(crate) metrics_key: usize,
    /// Unique in the tree for this incarnation of the child (see `LifecycleEvent::generation`).
    pub(crate) generation: u64,
    /// The correlation of what it is going through (a stop, the restart that started it).
    pub(crate) cause: Option<u64>,
    pub(crate) phase: ServicePhase,
    /// Backoff and breaker progress; the configuration stays in the spec.
    pub(crate) backoff: BackoffProgress,
    /// Attempts started; the current attempt's number.
    pub(crate) attempt: u32,
    /// The current attempt's token and task, while one is alive.
    pub(crate) token: Option<CancellationToken>,
    pub(crate) task: Option<AbortHandle>,
    /// The one timer of the current phase: ready deadline, heartbeat check or kill deadline.
    pub(crate) timer: Option<delay_queue::Key>,
    /// The restart group it waits in, while backing off.
    pub(crate) group: Option<usize>,
    /// Why it is being stopped, from the moment it joins a stop wave.
    pub(crate) stop: Option<Stop>,
    pub(crate) missed_deadline: Option<TimeoutKind>,
    /// Stopped by `restart_child` itself: it starts again even if temporary (a temporary
    /// child stopped with another's scope ends, as in OTP).
    pub(crate) restart_requested: bool,
    pub(crate) last_failure: Option<Arc<Failure>>,
    pub(crate) last_exit: Option<LastExit>,
    pub(crate) termination: Option<TerminationReason>,
    /// Set when shutdown reaches this child.
    pub(crate) stop_outcome: Option<StopOutcome>,
    /// For a supervisor child: how to reach the node it runs.
    pub(crate) nested: Option<Arc<NestedLink>>,
}

/// A pending or issued stop of one child.
pub(crate) struct Stop {
    pub(crate) purpose: StopPurpose,
    /// Cancelled; until then it waits for every dependent in a stop wave to exit.
    pub(crate) issued: bool,
    /// Aborted (or, if blocking, detached) after its shutdown policy ran out.
    pub(crate) killed: bool,
    /// Aborted at shutdown and still not gone after the abort wait: given up on.
    pub(crate) detached: bool,
    /// The abort-wait batch it was aborted in ([`NO_BATCH`] if none).
    pub(crate) abort_batch: u32,
}

/// No abort-wait batch.
pub(crate) const NO_BATCH: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopPurpose {
    Shutdown,
    /// Stopped with its restart scope; restarted when the group is released.
    Restart(usize),
    /// Stopped for good because the sibling at this index, which it requires, terminated.
    Unbind(usize),
    /// Stopped by an operator's command (or with a child it requires), to stay put.
    Hold(Hold),
    /// Stopped to be removed: terminated, then its slot released.
    Remove,
}

/// How the last attempt ended, for state queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LastExit {
    Completed,
    Failed,
    Stopped,
    Aborted,
    Detached,
}

impl ChildSlot {
    /// A released child's slot, until it is reused: terminated, holding nothing of its own.
    pub(crate) fn vacant() -> Self {
        static NOBODY: std::sync::OnceLock<Arc<ChildShared>> = std::sync::OnceLock::new();
        let shared = NOBODY.get_or_init(|| {
            Arc::new(ChildShared::new(
                (Arc::from(""), Arc::from(""), 0),
                usize::MAX,
                Instant::now(),
                None,
            ))
        });
        let mut slot = ChildSlot::new(Arc::clone(shared), usize::MAX);
        slot.phase = ServicePhase::Terminated;
        slot
    }

    pub(crate) fn new(shared: Arc<ChildShared>, metrics_key: usize) -> Self {
        ChildSlot {
            generation: shared.generation,
            shared,
            metrics_key,
            cause: None,
            phase: ServicePhase::Waiting,
            backoff: BackoffProgress::default(),
            attempt: 0,
            token: None,
            task: None,
            timer: None,
            group: None,
            stop: None,
            missed_deadline: None,
            restart_requested: false,
            last_failure: None,
            last_exit: None,
            termination: None,
            stop_outcome: None,
            nested: None,
        }
    }

    /// Its path from the root.
    pub(crate) fn path(&self) -> &Arc<str> {
        &self.shared.path
    }

    /// Adds the time since the attempt started running to the total.
    pub(crate) fn stop_running_clock(&mut self, now: Instant) {
        self.shared.stop_running(now);
    }
}
// A slot holds one per child: the batch number lives in the padding.
const _: () = assert!(std::mem::size_of::<Option<Stop>>() <= 24);
