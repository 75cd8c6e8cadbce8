//! The runtime: one control loop per supervisor node and its front door.

mod attempt;
mod child_spec;
mod config;
mod node;
mod shutdown_report;
mod signal;
mod slot;
mod snapshot;
mod supervisor;

pub use config::{SpawnOptions, SupervisorConfig};
pub(crate) use node::NodeMessage;
pub use shutdown_report::{ServiceShutdown, ShutdownReport, StopOutcome};
pub use snapshot::ServiceLifecycleSnapshot;
pub use supervisor::Supervisor;
