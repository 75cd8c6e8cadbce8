use std::error::Error;
use std::fmt;
use std::time::Duration;

use crate::observe::CompactDuration;

/// A supervisor gave up: its children restarted more often than its intensity allows, or a
/// child's circuit breaker with [`OnOpen::Escalate`](crate::OnOpen::Escalate) opened. It
/// stopped its children and failed; its parent treats that as the failure of a child, and at
/// the root the tree shuts down and reports this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// The supervisor that gave up, as a path (`bot/execution`).
    pub supervisor: String,
    /// The child whose failure tipped it over, as a path.
    pub child: String,
    /// How many times that child had failed in all.
    pub child_failures: u64,
    /// The limit that was reached: restarts tolerated within `within` (for a breaker, the
    /// failures that open it).
    pub max_restarts: u32,
    /// The window of that limit.
    pub within: Duration,
    /// Why the child failed the last time.
    pub cause: String,
    /// Which limit was reached.
    pub reason: EscalationReason,
}

/// Which limit made a supervisor give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EscalationReason {
    /// Its restart intensity was exceeded.
    IntensityExceeded,
    /// A child's circuit breaker opened with `on_open = "escalate"`.
    CircuitBreakerOpened,
}

impl fmt::Display for Escalation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            EscalationReason::IntensityExceeded => write!(
                f,
                "supervisor `{}` gave up after more than {} restarts within {}; the last: `{}` failed ({} failures in all): {}",
                self.supervisor,
                self.max_restarts,
                CompactDuration(self.within),
                self.child,
                self.child_failures,
                self.cause
            ),
            EscalationReason::CircuitBreakerOpened => write!(
                f,
                "supervisor `{}` gave up: the circuit breaker of `{}` opened after {} failures within {} (on_open = escalate; {} failures in all): {}",
                self.supervisor,
                self.child,
                self.max_restarts,
                CompactDuration(self.within),
                self.child_failures,
                self.cause
            ),
        }
    }
}

impl Error for Escalation {}
