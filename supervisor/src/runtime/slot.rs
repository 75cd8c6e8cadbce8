use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::time::delay_queue;

use super::attempt::panic_message;
use super::child_spec::ChildSpec;
use super::shutdown_report::StopOutcome;
use super::snapshot::ServiceLifecycleSnapshot;
use crate::context::ChildShared;
use crate::error::ServiceError;
use crate::model::{ServicePhase, TerminationReason, TimeoutKind};
use crate::policy::BackoffState;

/// The control loop's record of one child. Only the loop touches it, so it needs no lock.
pub(crate) struct ChildSlot {
    pub(crate) spec: ChildSpec,
    pub(crate) shared: Arc<ChildShared>,
    pub(crate) phase: ServicePhase,
    pub(crate) backoff: BackoffState,
    /// Attempts started; the current attempt's number.
    pub(crate) attempt: u32,
    /// The current attempt's token and task, while one is alive.
    pub(crate) token: Option<CancellationToken>,
    pub(crate) task: Option<AbortHandle>,
    /// The pending restart while backing off, or the ready deadline while starting.
    pub(crate) timer: Option<delay_queue::Key>,
    /// A deadline this attempt missed; its exit is then this failure, whatever it returns.
    pub(crate) missed_deadline: Option<TimeoutKind>,
    pub(crate) running_since: Option<Instant>,
    pub(crate) running_time: Duration,
    pub(crate) total_failures: u64,
    pub(crate) last_failure: Option<Failure>,
    pub(crate) termination: Option<TerminationReason>,
    /// Set when shutdown reaches this child.
    pub(crate) stop_outcome: Option<StopOutcome>,
}

/// The payload of the last failed attempt, formatted only when someone asks.
pub(crate) enum Failure {
    Error(ServiceError),
    Panic(Box<dyn Any + Send>),
    Timeout(TimeoutKind),
}

impl Failure {
    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Error(error) => error.to_string(),
            Failure::Panic(payload) => panic_message(payload.as_ref()),
            Failure::Timeout(kind) => kind.to_string(),
        }
    }
}

impl ChildSlot {
    pub(crate) fn new(spec: ChildSpec, shared: Arc<ChildShared>, backoff: BackoffState) -> Self {
        ChildSlot {
            spec,
            shared,
            phase: ServicePhase::Starting,
            backoff,
            attempt: 0,
            token: None,
            task: None,
            timer: None,
            missed_deadline: None,
            running_since: None,
            running_time: Duration::ZERO,
            total_failures: 0,
            last_failure: None,
            termination: None,
            stop_outcome: None,
        }
    }

    /// Adds the time since the attempt started running to the total.
    pub(crate) fn stop_running_clock(&mut self, now: Instant) {
        if let Some(since) = self.running_since.take() {
            self.running_time += now.saturating_duration_since(since);
        }
    }

    pub(crate) fn snapshot(&self, now: Instant) -> ServiceLifecycleSnapshot {
        let running_now = self
            .running_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        ServiceLifecycleSnapshot {
            name: self.spec.name.to_string(),
            phase: self.phase,
            restart_policy: self.spec.restart,
            start_count: self.attempt,
            total_failures: self.total_failures,
            last_error: self.last_failure.as_ref().map(Failure::message),
            termination_reason: self.termination.clone(),
            running_time: self.running_time + running_now,
            last_heartbeat_age: self
                .shared
                .last_heartbeat()
                .map(|at| now.saturating_duration_since(at)),
        }
    }
}
