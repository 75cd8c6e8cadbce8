//! Plain data describing services and their policies. No tokio in here.

mod auto_shutdown;
mod backoff_config;
mod child_kind;
#[cfg_attr(not(feature = "config"), allow(dead_code))]
mod duration_text;
mod intensity;
mod limits;
mod phase;
mod readiness;
mod restart_policy;
mod shutdown_policy;
mod strategy;
mod termination;

pub use auto_shutdown::AutoShutdown;
pub use backoff_config::{BackoffConfig, CircuitBreakerConfig, Jitter, OnOpen};
pub use child_kind::ChildKind;
pub(crate) use duration_text::format_duration;
#[cfg(feature = "config")]
pub(crate) use duration_text::{PATTERN as DURATION_PATTERN, parse_duration};
pub use intensity::Intensity;
pub use limits::{
    MAX_DURATION, MAX_DYNAMIC_CHILDREN, MAX_EVENT_CAPACITY, MAX_FAILURE_COUNT, MAX_NESTING_DEPTH,
};
pub(crate) use limits::{
    check_count, check_duration, check_dynamic_limit, check_event_capacity, check_journal_capacity,
    check_name, check_positive_duration,
};
pub use phase::ServicePhase;
pub use readiness::Readiness;
pub use restart_policy::RestartPolicy;
pub use shutdown_policy::ShutdownPolicy;
pub use strategy::Strategy;
pub use termination::{FailureSummary, TerminationReason, TimeoutKind};
