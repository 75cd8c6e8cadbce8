//! The lifecycle of one supervised service and the transitions it may take.

use std::fmt;

use crate::error::TransitionError;

/// Where a supervised service is in its lifecycle.
///
/// ```text
///              +-------------------------------+
///              v                               |
/// Waiting -> Starting -> Running -> BackingOff -+-> Waiting
///               |           |            ^
///               +-----------+-> Stopping +-> Paused | Quarantined   (operator commands)
///                                   |
///  any phase but Stopping ----------+----------> Terminated
///
///  Paused, Quarantined, Terminated -> Waiting      (resume, release, restart_child)
/// ```
///
/// [`ServicePhase::transition`] rejects every other move with a [`TransitionError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServicePhase {
    /// Due to start, held back until its dependencies are ready.
    Waiting,
    /// An attempt has been spawned and has not reported ready yet.
    Starting,
    /// The attempt is running.
    Running,
    /// The last attempt exited (or was stopped with its restart scope); the next one starts
    /// after a delay.
    BackingOff,
    /// Cancellation was requested; waiting for the attempt to exit.
    Stopping,
    /// Stopped by [`pause_child`](crate::SupervisorHandle::pause_child): not restarted until
    /// resumed.
    Paused,
    /// Stopped by [`quarantine_child`](crate::SupervisorHandle::quarantine_child): kept
    /// visible, left out of health and of its dependents' start, until released.
    Quarantined,
    /// No attempt is running and none will be started (unless an operator restarts it).
    Terminated,
}

impl ServicePhase {
    /// Whether `self -> next` is a legal move.
    pub const fn can_transition_to(self, next: ServicePhase) -> bool {
        use ServicePhase::*;
        matches!(
            (self, next),
            (Waiting, Starting | Paused | Quarantined | Terminated)
                | (Starting, Running | BackingOff | Stopping | Terminated)
                | (Running, BackingOff | Stopping | Terminated)
                | (
                    BackingOff,
                    Waiting | Starting | Paused | Quarantined | Terminated
                )
                | (
                    Stopping,
                    BackingOff | Waiting | Paused | Quarantined | Terminated
                )
                | (Paused, Waiting | Quarantined | Terminated)
                | (Quarantined, Waiting | Terminated)
                | (Terminated, Waiting | Quarantined)
        )
    }

    /// The phase after `self -> next`, or the error naming both when the move is illegal.
    ///
    /// ```
    /// use supervisor::ServicePhase;
    ///
    /// assert_eq!(ServicePhase::Running.transition(ServicePhase::Stopping), Ok(ServicePhase::Stopping));
    /// assert!(ServicePhase::Terminated.transition(ServicePhase::Running).is_err());
    /// ```
    pub fn transition(self, next: ServicePhase) -> Result<ServicePhase, TransitionError> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(TransitionError {
                from: self,
                to: next,
            })
        }
    }

    /// Whether the phase is final, short of an operator's command.
    pub const fn is_terminal(self) -> bool {
        matches!(self, ServicePhase::Terminated)
    }

    /// Whether an attempt is alive in this phase.
    pub const fn is_alive(self) -> bool {
        matches!(
            self,
            ServicePhase::Starting | ServicePhase::Running | ServicePhase::Stopping
        )
    }
}

impl fmt::Display for ServicePhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServicePhase::Waiting => "waiting",
            ServicePhase::Starting => "starting",
            ServicePhase::Running => "running",
            ServicePhase::BackingOff => "backing off",
            ServicePhase::Stopping => "stopping",
            ServicePhase::Paused => "paused",
            ServicePhase::Quarantined => "quarantined",
            ServicePhase::Terminated => "terminated",
        })
    }
}
