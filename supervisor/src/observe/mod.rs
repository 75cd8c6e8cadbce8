//! What the supervisor tells the outside: lifecycle events and metrics.

mod compact_duration;
mod event;
mod metrics;

pub use compact_duration::CompactDuration;
pub use event::{EventKind, LifecycleEvent};
pub use metrics::{MetricsSnapshot, SupervisorMetrics};
