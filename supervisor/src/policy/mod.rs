//! Pure decisions: backoff delays, failure windows, what to do when a service exits, and the
//! tree's startup order and restart scopes.
//!
//! Nothing here touches tokio or the clock; every function takes `now` and a seedable rng, so
//! it is unit- and property-tested without a runtime.

mod backoff_state;
mod decision;
mod failure_window;
mod order;

pub use backoff_state::{
    Backoff, BackoffAction, BackoffParts, BackoffProgress, BackoffState, apply_jitter,
    exponential_delay, seed_from_os,
};
pub use decision::{Decision, ExitKind, StopReason, decide};
pub use failure_window::FailureWindow;
pub use order::{dependents_of, find_cycle, restart_scope, startup_order};
