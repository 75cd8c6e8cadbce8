//! Erlang/OTP-style supervision for Tokio services.
//!
//! A trading bot's market feeds, pollers and order routers must survive failures for weeks,
//! restart sanely and shut down without losing work. This crate runs each of them as a
//! supervised Tokio task: a failure or a panic is caught, the service is restarted after an
//! exponential, jittered backoff, a circuit breaker stops a service that keeps failing, and a
//! shutdown cancels, drains and, past a timeout, aborts, so that no task is left behind.
//!
//! # Tutorial
//!
//! 1. Write a service: implement [`TradingService`], returning `Box::pin(async move { .. })`
//!    from [`run`](TradingService::run). Return `Ok(())` when
//!    [`ctx.cancelled()`](TaskContext::cancelled) fires.
//! 2. Create a [`Supervisor`] and [`spawn_service`](Supervisor::spawn_service) it, optionally
//!    with its own [`BackoffConfig`] through [`SpawnOptions`].
//! 3. Call [`run_until_shutdown`](Supervisor::run_until_shutdown): it returns after SIGINT /
//!    SIGTERM (or [`trigger_shutdown`](Supervisor::trigger_shutdown)) once every service has
//!    stopped, with a [`ShutdownReport`].
//!
//! ```
//! use std::time::Duration;
//! use supervisor::prelude::*;
//!
//! struct FlakyFeed;
//!
//! impl TradingService for FlakyFeed {
//!     fn name(&self) -> &str {
//!         "market-feed"
//!     }
//!
//!     fn run(&self, ctx: TaskContext) -> ServiceFuture<'_> {
//!         Box::pin(async move {
//!             if ctx.attempt() < 3 {
//!                 return Err(ServiceError::from("connection reset"));
//!             }
//!             ctx.cancelled().await;
//!             Ok(())
//!         })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let supervisor = Supervisor::new(SupervisorConfig::default().without_signal_handler());
//! let backoff = BackoffConfig::new(Duration::from_millis(100), Duration::from_secs(5));
//! supervisor.spawn_service_with_options(Box::new(FlakyFeed), SpawnOptions::new().with_backoff(backoff))?;
//!
//! tokio::time::sleep(Duration::from_secs(1)).await; // two failures, two restarts
//! let feed = supervisor.service_lifecycle("market-feed").await.unwrap();
//! assert_eq!(feed.phase, ServicePhase::Running);
//! assert_eq!(feed.start_count, 3);
//! assert_eq!(feed.last_error.as_deref(), Some("connection reset"));
//!
//! supervisor.trigger_shutdown();
//! let report = supervisor.run_until_shutdown().await?;
//! assert_eq!(report.count(StopOutcome::Graceful), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Trees
//!
//! For more than a flat set of services, declare a [`SupervisorSpec`]: children made with
//! [`service_fn`], [`blocking_fn`], [`ChildSpec::from_service`] or [`ChildSpec::supervisor`]
//! (nesting), a [`Strategy`], a restart [`Intensity`], dependencies between siblings
//! ([`ChildSpec::after`]) and readiness. [`Supervisor::start`] runs it and returns a
//! [`SupervisorHandle`] for [`current_state`](SupervisorHandle::current_state),
//! [`shutdown_tree`](SupervisorHandle::shutdown_tree) and
//! [`run_until_shutdown`](SupervisorHandle::run_until_shutdown).
//!
//! Semantics follow Erlang/OTP's supervisors: a failed child is restarted with its strategy's
//! scope and its dependents, once all of them have stopped and its backoff has passed; too
//! many restarts within the intensity window make the supervisor give up and fail to its
//! parent; significant children can end their supervisor. One difference: stops go out in
//! reverse startup order but only wait along dependency edges (a child stops after every
//! child that depends on it), so independent siblings drain concurrently.
//!
//! # Tour
//!
//! - Model: [`RestartPolicy`], [`BackoffConfig`] and [`Jitter`], [`ServicePhase`],
//!   [`TerminationReason`]. Plain data, validated with errors that name the field.
//! - [`policy`]: the pure decisions (backoff delays, the circuit breaker's window, the
//!   restart decision), deterministic for a given time and rng seed.
//! - Specs: [`SupervisorSpec`], [`ChildSpec`], [`ShutdownPolicy`], [`Readiness`],
//!   [`AutoShutdown`], [`ChildKind`].
//! - Runtime: [`Supervisor`], [`SupervisorHandle`], [`TaskContext`], [`SupervisorConfig`],
//!   [`SpawnOptions`]; state as [`TreeState`], shutdowns as [`ShutdownReport`].
//! - Observation: [`Supervisor::subscribe`] for [`LifecycleEvent`]s,
//!   [`Supervisor::metrics`] for counters, [`Supervisor::lifecycle_snapshots`] for state.
//! - [`error`]: every error type.
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod context;
pub mod error;
mod model;
mod observe;
pub mod policy;
mod runtime;
mod service;
mod spec;

pub use context::TaskContext;
pub use error::{BoxError, ErrorKind, ServiceError};
pub use model::{
    AutoShutdown, BackoffConfig, ChildKind, CircuitBreakerConfig, FailureSummary, Intensity,
    Jitter, Readiness, RestartPolicy, ServicePhase, ShutdownPolicy, Strategy, TerminationReason,
    TimeoutKind,
};
pub use observe::{CompactDuration, EventKind, LifecycleEvent, MetricsSnapshot, SupervisorMetrics};
pub use runtime::{
    ChildState, ServiceLifecycleSnapshot, ServiceShutdown, ShutdownReport, SpawnOptions,
    StopOutcome, Supervisor, SupervisorConfig, SupervisorHandle, TreeState,
};
pub use service::{ServiceFuture, TradingService};
pub use spec::{
    ChildSpec, ServiceOutput, SupervisorSpec, SupervisorSpecBuilder, blocking_fn, service_fn,
};

/// The types most programs need: `use supervisor::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AutoShutdown, BackoffConfig, ChildSpec, Jitter, Readiness, RestartPolicy, ServiceError,
        ServiceFuture, ServicePhase, ShutdownPolicy, SpawnOptions, StopOutcome, Strategy,
        Supervisor, SupervisorConfig, SupervisorHandle, SupervisorSpec, TaskContext,
        TradingService, blocking_fn, service_fn,
    };
}
