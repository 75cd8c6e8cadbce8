//! Why a service reached [`ServicePhase::Terminated`](crate::ServicePhase::Terminated).

use std::fmt;

use crate::error::ErrorKind;

/// Why a service stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminationReason {
    /// It returned `Ok(())` and its policy does not restart clean exits.
    Completed,
    /// It stopped because the supervisor asked it to.
    Cancelled,
    /// It returned an error that its policy does not restart (or a fatal one).
    Failed(FailureSummary),
    /// It panicked and its policy does not restart; the panic message is kept.
    Panicked(String),
    /// It failed too often: `failures` failures within the breaker's window.
    CircuitBreakerOpen {
        /// Failures counted in the window when the breaker opened.
        failures: u32,
        /// The breaker's limit.
        max_failures: u32,
    },
    /// It did not stop within its shutdown timeout and was aborted.
    Aborted,
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
            TerminationReason::CircuitBreakerOpen {
                failures,
                max_failures,
            } => write!(
                f,
                "circuit breaker open after {failures} failures in its window (limit {max_failures})"
            ),
            TerminationReason::Aborted => f.write_str("aborted after the shutdown timeout"),
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
