//! Why a service reached [`ServicePhase::Terminated`](crate::ServicePhase::Terminated).

use std::fmt;

use std::time::Duration;

use crate::error::ErrorKind;
use crate::observe::CompactDuration;

/// Why a service stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TerminationReason {
    /// It returned `Ok(())` and its policy does not restart clean exits.
    Completed,
    /// It stopped because the supervisor asked it to.
    Cancelled,
    /// It returned an error that its policy does not restart (or a fatal one).
    Failed(FailureSummary),
    /// It panicked and its policy does not restart; the panic message is kept.
    Panicked(String),
    /// It missed a deadline and its policy does not restart.
    TimedOut(TimeoutKind),
    /// It failed too often: `failures` failures within the breaker's window.
    CircuitBreakerOpen {
        /// Failures counted in the window when the breaker opened.
        failures: u32,
        /// The breaker's limit.
        max_failures: u32,
    },
    /// A sibling it `requires` terminated for good, so it was stopped too.
    DependencyTerminated {
        /// The sibling's name.
        dependency: String,
    },
    /// It did not stop within its shutdown timeout and was aborted.
    Aborted,
    /// It did not stop within its shutdown timeout and could not be aborted: a blocking
    /// worker (its thread cannot be stopped), or a task stuck inside a poll past the abort
    /// wait. It was left to finish on its own and is no longer tracked.
    Detached,
    /// An operator removed it ([`remove_child`](crate::SupervisorHandle::remove_child)); its
    /// slot is released.
    Removed,
}

/// Which deadline a service missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// It did not report ready within its startup timeout.
    Startup(Duration),
    /// It did not call [`TaskContext::heartbeat`](crate::TaskContext::heartbeat) for this long.
    Heartbeat(Duration),
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeoutKind::Startup(limit) => {
                write!(f, "did not report ready within {}", CompactDuration(*limit))
            }
            TimeoutKind::Heartbeat(limit) => {
                write!(f, "no heartbeat for {}", CompactDuration(*limit))
            }
        }
    }
}

/// An error a service returned, as kept in snapshots and reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureSummary {
    /// Transient or fatal.
    pub kind: ErrorKind,
    /// The error's message, with its sources joined by `: `.
    pub message: String,
}

impl TerminationReason {
    /// Whether the service ended without an error, a panic or an abort.
    pub fn is_clean(&self) -> bool {
        matches!(
            self,
            TerminationReason::Completed | TerminationReason::Cancelled
        )
    }
}

impl fmt::Display for TerminationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TerminationReason::Completed => f.write_str("completed"),
            TerminationReason::Cancelled => f.write_str("cancelled"),
            TerminationReason::Failed(failure) => write!(f, "failed: {failure}"),
            TerminationReason::Panicked(message) => write!(f, "panicked: {message}"),
            TerminationReason::TimedOut(kind) => write!(f, "timed out: {kind}"),
            TerminationReason::CircuitBreakerOpen {
                failures,
                max_failures,
            } => write!(
                f,
                "circuit breaker open after {failures} failures in its window (limit {max_failures})"
            ),
            TerminationReason::DependencyTerminated { dependency } => {
                write!(f, "dependency `{dependency}` terminated")
            }
            TerminationReason::Aborted => f.write_str("aborted after the shutdown timeout"),
            TerminationReason::Detached => {
                f.write_str("detached: it could not be aborted after the shutdown timeout")
            }
            TerminationReason::Removed => f.write_str("removed"),
        }
    }
}

impl fmt::Display for FailureSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Transient => f.write_str(&self.message),
            ErrorKind::Fatal => write!(f, "fatal: {}", self.message),
        }
    }
}
