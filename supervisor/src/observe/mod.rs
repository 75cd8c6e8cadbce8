//! What the supervisor tells the outside: lifecycle events and metrics.

mod child_counters;
mod compact_duration;
mod event;
mod failure_message;
mod journal;
mod metrics;
#[cfg(feature = "prometheus")]
mod prometheus;

pub(crate) use child_counters::ChildCounters;
pub use child_counters::{ChildStats, FailureKind};
pub use compact_duration::CompactDuration;
pub use event::{EventKind, LifecycleEvent};
pub use failure_message::FailureMessage;
pub(crate) use failure_message::{Failure, FailureCause};
pub(crate) use journal::Journal;
pub use journal::{EventStream, Missed};
pub use metrics::{ChildMetrics, MetricsSnapshot, SupervisorMetrics};
#[cfg(feature = "prometheus")]
pub use prometheus::PrometheusCollector;
