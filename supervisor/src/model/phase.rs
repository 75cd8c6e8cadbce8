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
///               +-----------+-> Stopping +
///                                   |
///  any phase but Stopping ----------+----------> Terminated
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
    /// No attempt is running and none will be started.
    Terminated,
}

impl ServicePhase {
    /// Whether `self -> next` is a legal move.
    pub const fn can_transition_to(self, next: ServicePhase) -> bool {
        use ServicePhase::*;
        matches!(
            (self, next),
            (Waiting, Starting | Terminated)
                | (Starting, Running | BackingOff | Stopping | Terminated)
                | (Running, BackingOff | Stopping | Terminated)
                | (BackingOff, Waiting | Starting | Terminated)
                | (Stopping, BackingOff | Terminated)
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

    /// Whether the phase is final.
    pub const fn is_terminal(self) -> bool {
        matches!(self, ServicePhase::Terminated)
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
            ServicePhase::Terminated => "terminated",
        })
    }
}
