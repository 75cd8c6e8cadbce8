//! State assembled on demand for snapshots, tree queries and the final records.

use std::sync::Arc;

use tokio::time::Instant;

use super::Node;
use crate::model::{Readiness, ServicePhase, TerminationReason};
use crate::runtime::health::HealthStatus;
use crate::runtime::record::{ChildRecord, Final, mark_not_running, states};
use crate::runtime::shutdown_report::StopOutcome;
use crate::runtime::snapshot::ServiceLifecycleSnapshot;
use crate::runtime::tree::{NestedLink, lock};
use crate::runtime::tree_state::{ChildState, IntensityUse};

impl Node {
    pub(super) fn snapshots(&self) -> Vec<ServiceLifecycleSnapshot> {
        self.live()
            .map(|index| self.final_state(index).snapshot())
            .collect()
    }

    /// Each child's state, and the links of the nested supervisors running now (by their
    /// position in the states), through which the asker fetches their children live. Those of
    /// a nested supervisor that is not running are filled in already (from its last run, or
    /// from its spec if it never ran).
    pub(super) fn child_states(&self) -> (Vec<ChildState>, Vec<(usize, Arc<NestedLink>)>) {
        let mut running = Vec::new();
        let states = self
            .live()
            .enumerate()
            .map(|(position, index)| {
                let mut state = self.child_state(index);
                let live = self.slots[index]
                    .nested
                    .as_ref()
                    .filter(|link| link.inbox().is_some());
                match live {
                    Some(link) => running.push((position, Arc::clone(link))),
                    None => state.children = self.idle_nested_states(index),
                }
                state
            })
            .collect();
        (states, running)
    }

    /// The child's final state and shutdown outcome, its nested children inside.
    pub(super) fn final_record(&self, index: usize) -> ChildRecord {
        let outcome = self.slots[index]
            .stop_outcome
            .unwrap_or(StopOutcome::NotRunning);
        let mut nested = self.take_idle_nested(index);
        if outcome == StopOutcome::NotRunning {
            // Not running at shutdown: its children's outcomes are from an earlier stop.
            mark_not_running(&mut nested);
        }
        ChildRecord {
            last: self.final_state(index),
            outcome,
            nested,
        }
    }

    /// A nested supervisor's children while it does not run: as its last run left them, or
    /// from its spec (waiting) if it never ran. Empty for other children.
    fn idle_nested_states(&self, index: usize) -> Vec<ChildState> {
        let Some(spec) = self.child_spec(index).nested() else {
            return Vec::new();
        };
        if let Some(link) = &self.slots[index].nested
            && let Some(records) = lock(&link.last_run).as_ref()
        {
            return states(records);
        }
        states(&ChildRecord::unstarted(
            &self.child_path(index),
            spec,
            ServicePhase::Waiting,
        ))
    }

    /// Like `idle_nested_states`, as records taken for good (this node is finishing).
    fn take_idle_nested(&self, index: usize) -> Vec<ChildRecord> {
        let Some(spec) = self.child_spec(index).nested() else {
            return Vec::new();
        };
        self.slots[index]
            .nested
            .as_ref()
            .and_then(|link| lock(&link.last_run).take())
            .unwrap_or_else(|| {
                ChildRecord::unstarted(&self.child_path(index), spec, ServicePhase::Terminated)
            })
    }

    /// The child's own state, without nested children.
    fn child_state(&self, index: usize) -> ChildState {
        self.final_state(index).state()
    }

    /// The child's state as shared values (see `Final`).
    fn final_state(&self, index: usize) -> Final {
        let now = Instant::now();
        let slot = &self.slots[index];
        let spec = self.child_spec(index);
        Final {
            path: Arc::clone(slot.path()),
            name: Arc::clone(&spec.name),
            kind: spec.kind(),
            phase: slot.phase,
            attempt: slot.attempt,
            last_exit: slot.last_exit,
            note: None,
            termination: slot.termination.clone(),
            policy: Arc::clone(&spec.policy),
            last_failure: slot.last_failure.clone(),
            stats: slot.shared.stats(now),
            health: self.health_of(index),
            heartbeat_age: slot
                .shared
                .last_heartbeat()
                .map(|at| now.saturating_duration_since(at)),
            restart_in: self
                .restart_due(index)
                .map(|due| due.saturating_duration_since(now)),
            breaker_failures: slot.backoff.breaker_failures_at(now.into_std()),
            mailbox: spec.mailbox().map(|mailbox| mailbox.stats()),
        }
    }

    /// When a backing-off child's restart group is due (none while the group waits for a
    /// member still stopping, or once its delay has passed).
    fn restart_due(&self, index: usize) -> Option<Instant> {
        let slot = &self.slots[index];
        if slot.phase != ServicePhase::BackingOff {
            return None;
        }
        let key = self.groups.get(slot.group?)?.timer.as_ref()?;
        Some(self.timers.deadline(key))
    }

    /// The restart intensity in use now, if this supervisor has one.
    pub(super) fn intensity_use(&self) -> Option<IntensityUse> {
        let window = self.intensity.as_ref()?;
        let limits = self.spec.intensity?;
        Some(IntensityUse {
            restarts: window.count_at(Instant::now().into_std()),
            max_restarts: limits.max_restarts,
            within: limits.within,
        })
    }

    fn health_of(&self, index: usize) -> HealthStatus {
        let slot = &self.slots[index];
        let spec = self.child_spec(index);
        let explicit = matches!(spec.policy.readiness, Readiness::Explicit { .. });
        match slot.phase {
            ServicePhase::Quarantined | ServicePhase::Paused => HealthStatus::Excluded,
            // Being stopped by its supervisor (a restart scope, shutdown): in passing.
            ServicePhase::Stopping => HealthStatus::Healthy,
            ServicePhase::Terminated => match &slot.termination {
                Some(reason) if !reason.is_clean() && *reason != TerminationReason::Removed => {
                    HealthStatus::Terminated(reason.to_string())
                }
                _ => HealthStatus::Healthy,
            },
            ServicePhase::Running => {
                match (
                    spec.policy.heartbeat_timeout,
                    slot.shared.silence(Instant::now()),
                ) {
                    (Some(limit), Some(silent)) if silent >= limit => {
                        HealthStatus::Stale { silent }
                    }
                    _ => HealthStatus::Healthy,
                }
            }
            _ if explicit => HealthStatus::NotReady,
            _ => HealthStatus::Healthy,
        }
    }
}
