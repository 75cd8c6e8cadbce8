//! Plain data describing services and their policies. No tokio in here.

mod backoff_config;
mod phase;
mod readiness;
mod restart_policy;
mod termination;

pub use backoff_config::{BackoffConfig, CircuitBreakerConfig, Jitter};
pub use phase::ServicePhase;
pub use readiness::Readiness;
pub use restart_policy::RestartPolicy;
pub use termination::{FailureSummary, TerminationReason, TimeoutKind};
