//! The runtime: one control loop per supervisor node, and the front doors to a tree.

mod attempt;
mod command;
mod config;
mod handle;
mod health;
mod nested;
mod node;
mod probe;
mod record;
mod root;
mod run_summary;
mod shutdown_report;
mod signal;
mod snapshot;
mod supervisor;
mod tree;
mod tree_state;

pub(crate) use attempt::{MakeAttempt, SpawnAttempt};
pub use command::{ChildCounts, Command, CommandAudit, CommandReceipt};
pub use config::{SpawnOptions, SupervisorConfig};
pub use handle::SupervisorHandle;
pub use health::{Health, HealthStatus};
pub use probe::{LIVENESS_TIMEOUT, Probe};
pub use run_summary::{ChildSummary, RunSummary};
pub use shutdown_report::{ServiceShutdown, ShutdownReport, StopOutcome};
pub use snapshot::ServiceLifecycleSnapshot;
pub use supervisor::Supervisor;
pub(crate) use tree::{NodeMessage, lock};
pub use tree_state::{ChildState, IntensityUse, TreeState};
