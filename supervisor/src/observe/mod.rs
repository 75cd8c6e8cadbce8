//! What the supervisor tells the outside: lifecycle events and metrics.

mod event;
mod metrics;

pub use event::{EventKind, LifecycleEvent};
pub use metrics::{MetricsSnapshot, SupervisorMetrics};
