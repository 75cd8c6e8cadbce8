//! Probes for an orchestrator: liveness (the control loops answer) and readiness (started,
//! healthy, not shutting down), each with a line saying why when it fails.

use std::fmt;
use std::time::Duration;

use super::health::Health;
use super::tree_state::TreeState;
use crate::model::ServicePhase;

/// How long every control loop of the tree has to answer a liveness probe.
pub const LIVENESS_TIMEOUT: Duration = Duration::from_secs(2);

/// The outcome of [`liveness`](crate::SupervisorHandle::liveness) or
/// [`readiness`](crate::SupervisorHandle::readiness): passing or not, and why in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Whether the probe passes (HTTP 200 for Kubernetes; 503 otherwise).
    pub passing: bool,
    /// Why, in one line: `ok`, or what is wrong.
    pub detail: String,
}

impl Probe {
    pub(crate) fn pass() -> Self {
        Probe {
            passing: true,
            detail: "ok".to_owned(),
        }
    }

    pub(crate) fn fail(detail: impl Into<String>) -> Self {
        Probe {
            passing: false,
            detail: detail.into(),
        }
    }

    /// Readiness from a state: every child has been started once (or was put aside on
    /// purpose), the tree is healthy and not shutting down.
    pub(crate) fn readiness(state: &TreeState, shutting_down: bool) -> Self {
        if shutting_down {
            return Probe::fail("shutting down");
        }
        let starting: Vec<&str> = state
            .iter()
            .filter(|child| child.attempt == 0 && child.phase == ServicePhase::Waiting)
            .map(|child| child.path.as_str())
            .collect();
        if !starting.is_empty() {
            return Probe::fail(format!("starting: {}", starting.join(", ")));
        }
        let health = Health::of(state, shutting_down);
        if !health.healthy {
            let problems: Vec<String> = health
                .problems
                .iter()
                .map(|(path, status)| format!("{path} {status}"))
                .collect();
            return Probe::fail(problems.join("; "));
        }
        Probe::pass()
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}
