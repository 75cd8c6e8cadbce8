use std::time::Duration;

use crate::model::{RestartPolicy, ServicePhase, TerminationReason};

/// One service's lifecycle at one instant, assembled on demand by
/// [`Supervisor::lifecycle_snapshots`](crate::Supervisor::lifecycle_snapshots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLifecycleSnapshot {
    /// The service's name.
    pub name: String,
    /// Its phase.
    pub phase: ServicePhase,
    /// Its restart policy.
    pub restart_policy: RestartPolicy,
    /// Attempts started (1 after the first start, then one more per restart).
    pub start_count: u32,
    /// Attempts that ended with an error or a panic.
    pub total_failures: u64,
    /// The last error or panic message, if any attempt failed.
    pub last_error: Option<String>,
    /// Why it terminated, once it has.
    pub termination_reason: Option<TerminationReason>,
    /// Time spent running, over all attempts, up to the snapshot.
    pub running_time: Duration,
    /// How long ago the last heartbeat was, if the service ever sent one.
    pub last_heartbeat_age: Option<Duration>,
}
