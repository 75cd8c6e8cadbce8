//! What the supervisor tells the outside: lifecycle events and metrics.

mod compact_duration;
mod event;
mod journal;
mod metrics;

pub use compact_duration::CompactDuration;
pub use event::{EventKind, LifecycleEvent};
pub(crate) use journal::Journal;
pub use journal::{EventStream, Missed};
pub use metrics::{MetricsSnapshot, SupervisorMetrics};
