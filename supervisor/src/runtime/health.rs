//! Health, as a Kubernetes liveness / readiness probe needs it, derived from the tree's state.

use std::time::Duration;

use super::tree_state::TreeState;

/// One child's part in [`Health`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthStatus {
    /// Nothing wrong.
    Healthy,
    /// Left out: quarantined or paused by an operator.
    Excluded,
    /// Explicit readiness, and not (or no longer) ready: starting, backing off or waiting
    /// (a child being stopped by its supervisor is in passing, not a problem).
    NotReady,
    /// Running, and silent for longer than its heartbeat limit.
    Stale {
        /// Time since its last heartbeat (or since it started running).
        silent: Duration,
    },
    /// It terminated unexpectedly (failed, panicked, timed out, breaker open, aborted, its
    /// requirement gone); the reason.
    Terminated(String),
}

impl std::fmt::Display for HealthStatus {
    /// `healthy`, `excluded`, `not ready`, `stale (silent 12s)`, `terminated: <why>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HealthStatus::Healthy => f.write_str("healthy"),
            HealthStatus::Excluded => f.write_str("excluded"),
            HealthStatus::NotReady => f.write_str("not ready"),
            HealthStatus::Stale { silent } => write!(
                f,
                "stale (silent {})",
                crate::observe::CompactDuration(*silent)
            ),
            HealthStatus::Terminated(why) => write!(f, "terminated: {why}"),
        }
    }
}

impl HealthStatus {
    /// Whether it counts against the tree's health.
    pub fn is_unhealthy(&self) -> bool {
        matches!(
            self,
            HealthStatus::NotReady | HealthStatus::Stale { .. } | HealthStatus::Terminated(_)
        )
    }
}

/// The tree's health, from [`SupervisorHandle::health`](crate::SupervisorHandle::health).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// No child terminated unexpectedly, every explicit-readiness child is ready, every
    /// heartbeat is fresh (quarantined and paused children left out): a liveness probe.
    pub healthy: bool,
    /// Healthy and not shutting down: a readiness probe (false from the moment shutdown
    /// begins, so traffic drains first).
    pub ready: bool,
    /// Each child that is not healthy, with its path, depth first.
    pub problems: Vec<(String, HealthStatus)>,
}

impl Health {
    pub(crate) fn of(state: &TreeState, shutting_down: bool) -> Self {
        let problems: Vec<(String, HealthStatus)> = state
            .iter()
            .filter(|child| child.health.is_unhealthy())
            .map(|child| (child.path.clone(), child.health.clone()))
            .collect();
        let healthy = problems.is_empty();
        Health {
            healthy,
            ready: healthy && !shutting_down,
            problems,
        }
    }
}
