//! State assembled on demand for snapshots and tree queries.

use std::sync::Arc;

use tokio::time::Instant;

use super::Node;
use crate::runtime::snapshot::ServiceLifecycleSnapshot;
use crate::runtime::tree::NestedLink;
use crate::runtime::tree_state::ChildState;

impl Node {
    pub(super) fn snapshots(&self) -> Vec<ServiceLifecycleSnapshot> {
        let now = Instant::now();
        (0..self.slots.len())
            .map(|index| {
                let slot = &self.slots[index];
                let spec = self.child_spec(index);
                ServiceLifecycleSnapshot {
                    name: spec.name.to_string(),
                    phase: slot.phase,
                    restart_policy: spec.restart,
                    start_count: slot.attempt,
                    total_failures: slot.total_failures,
                    last_error: slot.last_failure.as_ref().map(|f| f.message()),
                    termination_reason: slot.termination.clone(),
                    running_time: slot.running_time_at(now),
                    last_heartbeat_age: slot
                        .shared
                        .last_heartbeat()
                        .map(|at| now.saturating_duration_since(at)),
                }
            })
            .collect()
    }

    /// Each child's state without its nested children, and for supervisor children the link
    /// through which the asker fetches those.
    pub(super) fn child_states(&self) -> Vec<(ChildState, Option<Arc<NestedLink>>)> {
        (0..self.slots.len())
            .map(|index| {
                let slot = &self.slots[index];
                let spec = self.child_spec(index);
                let state = ChildState {
                    path: self.child_path(index).to_string(),
                    name: spec.name.to_string(),
                    kind: spec.kind(),
                    phase: slot.phase,
                    attempt: slot.attempt,
                    last_exit: slot
                        .termination
                        .as_ref()
                        .map(ToString::to_string)
                        .or_else(|| slot.describe_last_exit()),
                    tags: spec.tags().map(str::to_owned).collect(),
                    children: Vec::new(),
                };
                (state, slot.nested.clone())
            })
            .collect()
    }
}
