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
//! # The DSL
//!
//! Most programs declare their services with [`#[service]`](macro@service) and their tree
//! with [`supervisor!`]: the compiler then rejects a bad policy, a typo in a dependency or a
//! dependency cycle. The macros generate exactly the specs described below.
//!
//! # Trees
//!
//! For more than a flat set of services, declare a [`SupervisorSpec`]: children made with
//! [`service_fn`], [`blocking_fn`], [`ChildSpec::from_service`] or [`ChildSpec::supervisor`]
//! (nesting), a [`Strategy`], a restart [`Intensity`], dependencies between siblings
//! ([`ChildSpec::after`], [`ChildSpec::requires`]) and readiness. [`Supervisor::start`] runs it and returns a
//! [`SupervisorHandle`] for [`current_state`](SupervisorHandle::current_state),
//! [`shutdown_tree`](SupervisorHandle::shutdown_tree) and
//! [`run_until_shutdown`](SupervisorHandle::run_until_shutdown).
//!
//! Semantics follow Erlang/OTP's supervisors: a failed child is restarted with its strategy's
//! scope and its dependents, once all of them have stopped and its backoff has passed; too
//! many restarts within the intensity window make the supervisor give up and fail to its
//! parent; significant children can end their supervisor (only by exiting on their own: a
//! child stopped with a restart scope never triggers auto-shutdown).
//!
//! # Ordering and binding
//!
//! Two kinds of dependency between siblings, as systemd's `After=` and `BindsTo=`:
//!
//! ```text
//!  market_feed <-- after --- risk_engine     starts once the feed runs, stops before it;
//!       ^                                    a feed restart leaves it running
//!       +------ requires --- order_router    the same ordering, plus: restarted with the
//!                                            feed, and stopped for good ("dependency
//!                                            `market_feed` terminated") if the feed ends,
//!                                            started again when the feed is
//! ```
//!
//! Both are checked for unknown names and cycles, through either kind of edge. A feed that
//! terminated for good starts again only by an operator's
//! [`restart_child`](SupervisorHandle::restart_child); the order router then comes back with
//! it. Pausing or quarantining the feed stops the order router too, which waits (`Waiting`)
//! until the feed runs again; the risk engine keeps running.
//!
//! # Configuration files
//!
//! With the `config` feature, [`config::TreeConfig`] reads an operator's YAML file, checks it
//! against its JSON Schema ([`config::json_schema`]) and lists every problem at its line and
//! column; [`TreeConfig::apply`](config::TreeConfig::apply) lays it over a spec
//! (defaults < code < the file's `policy` < its `children` entries) and reports each
//! effective value with its source; [`Supervisor::start_configured`] does both and starts
//! the tree. See the [`config`] module.
//!
//! # Production and testing
//!
//! - Feature `systemd`: `systemd::SystemdNotifier` sends `READY=1`, `WATCHDOG=1` (only
//!   while healthy), `STOPPING=1` and `STATUS=`. For Kubernetes,
//!   [`SupervisorHandle::liveness`] and [`SupervisorHandle::readiness`] give the probes.
//! - Feature `ipc`: `ipc::IpcServer`, the local control socket the dashboard relays.
//! - Feature `testing`: testing your supervision tree with `testing::TestKit`, faults injected
//!   by path on the paused clock, and `expect_events!`.
//!
//! # Operating a running tree
//!
//! [`SupervisorHandle`] steers a running tree by path (`bot/execution/order_router`):
//! [`restart_child`](SupervisorHandle::restart_child),
//! [`pause_child`](SupervisorHandle::pause_child) /
//! [`resume_child`](SupervisorHandle::resume_child),
//! [`quarantine_child`](SupervisorHandle::quarantine_child) /
//! [`release_child`](SupervisorHandle::release_child). Each takes who asked and why, is
//! carried out by the loop of the supervisor that owns the child (a message, never shared
//! state), returns a [`CommandReceipt`] with a `command_id`, and is recorded as an
//! [`EventKind::Command`] audit event. Repeating a command changes nothing
//! (`changed: false`); a wrong path, a phase the command does not apply to, or shutdown give
//! a [`CommandError`].
//!
//! # Observing a running tree
//!
//! - Events: every lifecycle change is a [`LifecycleEvent`] with a tree-wide `seq`, monotonic
//!   and wall time, the child's generation and attempt, and a `correlation` that ties a
//!   failure to the restart scope and restarts it caused, and a command to its effects. A
//!   bounded journal keeps the last ones ([`SupervisorConfig::with_journal_capacity`], 1,024 by
//!   default); [`SupervisorHandle::subscribe_from`] replays it, then follows live.
//! - Counters: [`MetricsSnapshot`] for the tree and per child ([`ChildStats`]: restarts,
//!   failures by kind, breaker trips, uptime), the same per child in [`TreeState`].
//! - Health: [`SupervisorHandle::health`], for liveness and readiness probes.
//! - Logs, through `tracing`: each attempt runs in a span `attempt{path, child, attempt}`, so
//!   the service's own lines carry its path. The crate's own events, by level:
//!
//! | level | target | what |
//! |---|---|---|
//! | debug | `supervisor::runtime::node::start` | a child's first start |
//! | info | `supervisor::runtime::node::start` | a restart (`attempt` > 1) |
//! | info | `supervisor::runtime::node::stop`, `..::command` | shutdown begins; a command accepted |
//! | warn | `supervisor::runtime::node::exit`, `..::start`, `..::stop` | an attempt failed, missed a deadline, did not stop in time |
//! | error | `supervisor::runtime::node::exit` | a circuit breaker opened; a supervisor gives up (escalation); internal errors |
//!
//! # Differences from Erlang/OTP
//!
//! The crate's tests port OTP's `supervisor_SUITE` case by case (`tests/otp_conformance.rs`);
//! these differences are deliberate, each kept there as an ignored test:
//! - Stops go out in reverse startup order but only wait along dependency edges (a child
//!   stops after every child that depends on it), so independent siblings drain concurrently.
//! - Children start together unless ordered with `after`: OTP waits for each child's `init`
//!   before starting the next. Explicit readiness holds back exactly the dependents.
//! - A terminated child stays terminated when a one-for-all (or rest-for-one) group restarts
//!   around it; OTP starts a transient child that exited normally again with the group. A
//!   breaker that opened, or a job that finished, is not undone by a sibling's failure.
//! - Restart intensity is at least 1 restart per window (or no limit at all); OTP accepts 0.
//! - A terminated temporary child stays visible in state and reports; OTP forgets it.
//!
//! # Reliability
//!
//! A control loop never panics and never hangs a caller. Every value a front door accepts is
//! bounded: durations by [`MAX_DURATION`], nesting by [`MAX_NESTING_DEPTH`], the event buffer
//! by [`MAX_EVENT_CAPACITY`], breaker and intensity counts by [`MAX_FAILURE_COUNT`]; names may
//! not contain `/`. Restart groups are released from the
//! state of their members (no counters), starts go through a queue (no recursion per
//! dependency), a panic payload is consumed where it is caught, and a killed nested supervisor
//! still reports its children. A new attempt never starts before the previous one has fully
//! exited, blocking workers included (their thread is waited for, shown as detached). If a
//! loop panics anyway (a bug), a nested one is its parent's child failure; at the root every
//! task is aborted and every call returns [`SupervisorError::Internal`](error::SupervisorError::Internal)
//! or a report whose services are [`StopOutcome::Lost`]. `tests/model_soak.rs` drives random
//! trees and faults against a reference model to keep it so.
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

#[cfg(feature = "config")]
pub mod config;
mod context;
pub mod error;
#[cfg(all(feature = "ipc", unix))]
pub mod ipc;
pub mod mailbox;
mod model;
mod observe;
pub mod policy;
#[cfg(all(feature = "systemd", unix))]
pub mod systemd;
#[cfg(feature = "testing")]
pub mod testing;
#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}
mod private;
mod runtime;
mod service;
mod slab;
mod spec;

pub use context::TaskContext;
pub use error::{BoxError, CommandError, ErrorKind, ServiceError};
pub use model::{
    AutoShutdown, BackoffConfig, ChildKind, CircuitBreakerConfig, FailureSummary, Intensity,
    Jitter, MAX_DURATION, MAX_DYNAMIC_CHILDREN, MAX_EVENT_CAPACITY, MAX_FAILURE_COUNT,
    MAX_NESTING_DEPTH, OnOpen, Readiness, RestartPolicy, ServicePhase, ShutdownPolicy, Strategy,
    TerminationReason, TimeoutKind,
};
#[cfg(feature = "prometheus")]
pub use observe::PrometheusCollector;
pub use observe::{
    ChildMetrics, ChildStats, CompactDuration, EventKind, EventStream, FailureKind, FailureMessage,
    LifecycleEvent, MetricsSnapshot, Missed, SupervisorMetrics,
};
pub use runtime::{
    ChildCounts, ChildState, ChildSummary, Command, CommandAudit, CommandReceipt, Health,
    HealthStatus, IntensityUse, LIVENESS_TIMEOUT, Probe, RunSummary, ServiceLifecycleSnapshot,
    ServiceShutdown, ShutdownReport, SpawnOptions, StopOutcome, Supervisor, SupervisorConfig,
    SupervisorHandle, TreeState,
};
pub use service::{ServiceFuture, TradingService};

pub use spec::{
    ChildSpec, DeclaredTree, ServiceOutput, SupervisedArgument, SupervisorSpec,
    SupervisorSpecBuilder, blocking_fn, service_fn,
};
/// Turns an `async fn` into a supervised service.
///
/// The function stays exactly as written (call it directly in unit tests with
/// [`TaskContext::detached`]). Beside it, a type of the same name (types and functions have
/// separate namespaces) holds:
/// - `spec(extra arguments..) -> ChildSpec`: the child with every declared policy; the extra
///   arguments are captured once and cloned for every attempt;
/// - `Service(extra arguments..)`: the type's one variant, the same function as a
///   [`TradingService`] (async services only), for [`Supervisor::spawn_service`];
/// - `NAME`: the service's name.
///
/// The first parameter must be `ctx: TaskContext`; the function returns `()`,
/// `Result<(), ServiceError>` or `Result<(), E>` for any error convertible into a
/// [`BoxError`] (so `anyhow::Result<()>` works).
///
/// ```
/// use supervisor::{service, TaskContext};
///
/// #[derive(Clone)]
/// struct Venue(&'static str);
///
/// #[service(
///     name = "market-feed",
///     restart = "on_failure",
///     backoff(base = "100ms", max = "30s", jitter = "full", reset_after = "5m"),
///     circuit_breaker(max_failures = 5, within = "60s"),
///     shutdown(timeout = "5s"),
///     heartbeat(stale_after = "3s"),
///     tags("market", "critical"),
/// )]
/// async fn market_feed(ctx: TaskContext, venue: Venue) -> anyhow::Result<()> {
///     while !ctx.is_cancelled() {
///         ctx.heartbeat();
///         tokio::time::sleep(std::time::Duration::from_secs(1)).await;
///     }
///     let _ = venue.0;
///     Ok(())
/// }
///
/// fn main() {
///     let spec = market_feed::spec(Venue("binance"));
///     assert_eq!(spec.name(), "market-feed");
///     assert_eq!(spec.tags().collect::<Vec<_>>(), ["market", "critical"]);
/// }
/// ```
///
/// The generated items sit in the function's own scope, so a `#[service]` fn may stand at
/// module level or inside a function body (a test, say), and its argument types resolve as the
/// function sees them. A service is a free function: on a method (`self`) the attribute says
/// so; on an associated fn without `self`, which an attribute cannot tell from a free one,
/// rustc reports once that the generated type cannot stand in an `impl` block.
///
/// # Options
///
/// One table for both macros. *attribute* is `#[service(..)]`; *with* is a child's `with(..)`
/// in [`supervisor!`], spelt the same and replacing that option as a whole; *header* is a
/// supervisor's options in [`supervisor!`].
///
/// | option | values | default | where |
/// |---|---|---|---|
/// | `name = ".."` | any non-empty string without `/` | the function's name (root: `supervisor`) | attribute, header |
/// | `restart = ".."` | `always`, `on_failure`, `never` (OTP: `permanent`, `transient`, `temporary`) | `on_failure` | attribute, with |
/// | `backoff(base, max, jitter, reset_after)` | durations; jitter `full`, `equal`, `none` | 100ms, 60s, full, 5m | attribute, with |
/// | `circuit_breaker(max_failures, within, on_open)` or `circuit_breaker = false` | a count of at least 1, a duration; `on_open` `terminate` (the child ends) or `escalate` (its supervisor fails) | 10 within 10m, terminate | attribute, with |
/// | `shutdown(timeout = "..")` or `shutdown = "brutal_kill"` / `"infinity"` | | the supervisor's timeout | attribute, with |
/// | `readiness = ".."`, `startup_timeout = ".."` | `immediate`, `explicit`; a duration (only with explicit readiness; in `with(..)` alone it sets an explicit service's timeout) | immediate; 30s when explicit | attribute, with |
/// | `heartbeat(stale_after = "..")` | a duration | none | attribute, with |
/// | `significant` | flag (not with `restart = "always"`, and only under an `auto_shutdown` other than `never`) | off | attribute, with |
/// | `tags("..", ..)` | strings | none | attribute, with |
/// | `blocking` | flag: a plain fn run on the blocking pool | off | attribute |
/// | `crate = "::path"` | an absolute path to this crate, if renamed | `::supervisor` | attribute, header (root) |
/// | `strategy = ".."` | `one_for_one`, `one_for_all`, `rest_for_one` | `one_for_one` | header |
/// | `intensity(max_restarts = N, within = "..")` | at least 1; a duration | 10 within 60s | header |
/// | `shutdown_timeout = ".."` | each child's default time to stop | 5s | header |
/// | `auto_shutdown = ".."` | `never`, `any_significant`, `all_significant` | `never` | header |
/// | `max_dynamic_children = N` | how many children `add_child` may add at once, up to 1,000,000 | 0 | header |
///
/// Durations are string literals with a unit, `ms`, `s`, `m` or `h`, decimals allowed
/// (`"1.5s"`), at most 365 days; a malformed, negative or zero duration, an unknown option or
/// value, a repeated option, a base above the max, zero `max_failures` and contradicting
/// options (`restart = "never"` with `backoff`) are compile errors on the offending token,
/// with the valid choices listed.
///
/// # `Send`
///
/// Every attempt is spawned, so the function's future must be `Send`: do not hold a
/// `MutexGuard`, an `Rc` or another `!Send` value across an `.await`. The compiler reports a
/// violation at the function's name.
#[doc(inline)]
pub use supervisor_macros::service;

/// Declares a supervision tree inline and checks it at compile time.
///
/// ```
/// use std::time::Duration;
/// use supervisor::{service, supervisor, TaskContext};
///
/// #[derive(Clone)]
/// enum Venue { Binance, Coinbase }
///
/// #[service(restart = "on_failure", backoff(base = "100ms", max = "30s"))]
/// async fn market_feed(ctx: TaskContext, venue: Venue) -> anyhow::Result<()> {
///     let _ = venue;
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// #[service(restart = "always", readiness = "explicit", startup_timeout = "10s")]
/// async fn risk_engine(ctx: TaskContext) {
///     ctx.ready();
///     ctx.cancelled().await;
/// }
///
/// #[service]
/// async fn order_router(ctx: TaskContext) {
///     ctx.cancelled().await;
/// }
///
/// fn main() {
///     let tree = supervisor! {
///         name = "bot",
///         strategy = "one_for_one",
///         intensity(max_restarts = 10, within = "60s"),
///         market_feed(Venue::Binance),
///         coinbase_feed: market_feed(Venue::Coinbase),
///         risk_engine() after(market_feed, coinbase_feed),
///         heartbeat = |ctx: TaskContext| async move { ctx.cancelled().await },
///         supervisor execution(strategy = "rest_for_one") {
///             order_router() with(shutdown(timeout = "10s")),
///             fills = |ctx: TaskContext| async move { ctx.cancelled().await } after(order_router),
///         } after(risk_engine),
///     };
///     assert_eq!(
///         tree.startup_order(),
///         ["market_feed", "coinbase_feed", "risk_engine", "heartbeat", "execution"]
///     );
///     let spec = tree.into_spec().unwrap();
///     assert_eq!(spec.children()[4].nested().unwrap().startup_order(), ["order_router", "fills"]);
/// #   let _ = Duration::ZERO;
/// }
/// ```
///
/// # Syntax
///
/// Options of the supervisor come first (`name`, `strategy`, `intensity(..)`,
/// `shutdown_timeout`, `auto_shutdown`, `max_dynamic_children`, `crate`: the *header* rows of
/// [the options table](macro@service#options)), then its children, all separated by commas.
///
/// Enumerated values are string literals, as in `#[service]` (a bare identifier is an error
/// that shows the quoted form). Every `key = literal` and every option name is read as an
/// option wherever it stands: a misspelt option gets a "did you mean", an option after the
/// first child is reported as misplaced, and neither can turn into a `key = expr` child.
///
/// A child is one of:
/// - `market_feed(args..)`: the spec of a `#[service]` function (`market_feed::spec(args..)`),
///   named as the service declares; siblings refer to it as `market_feed`;
/// - `key: market_feed(args..)`: the same service under the name `key` (to run it twice);
/// - `key = |ctx| async move { .. }`: a closure service named `key`;
/// - `key = expr`: any [`ChildSpec`] expression, renamed `key`: the way to use values known
///   only at run time, e.g. `feed = market_feed::spec(venue).with_backoff(from_config)`;
/// - `supervisor key(options..) { children.. }`: a nested supervisor;
/// - `pool key(max = N) = fill_order`: a pool of a `#[service]` (OTP's simple_one_for_one,
///   see [`ChildSpec::pool`]), empty at start, holding up to `N` children at once; each
///   [`start_child`](SupervisorHandle::start_child) takes the service's value with its
///   arguments, `fill_order::Service(order, venue)`, and starts `bot/key/1`, `bot/key/2`, ..
///   with the policies `#[service]` declares. `pool key(max = N) = |args: T| child_spec`
///   makes each child with a closure instead. For a pool's own strategy or intensity, build
///   it with [`SupervisorSpecBuilder::pool`] and use `key = ChildSpec::supervisor(..)`.
///
/// Each may be followed by `with(..)` (any policy option of `#[service]`, in the same spelling:
/// `with(restart = "always", backoff(base = "1s", max = "1m"), shutdown = "brutal_kill")`),
/// `after(sibling, ..)` (start after them, stop before them) and `requires(sibling, ..)` (the
/// same, and restarted with them, stopped for good when one of them terminates for good); see
/// [Ordering and binding](crate#ordering-and-binding). Checks that need both the attribute and
/// the override happen at compile time too: a `startup_timeout` override on a service with
/// immediate readiness, `significant` against `restart = "always"` across the two, and a
/// significant child under `auto_shutdown = "never"`.
///
/// Duplicate names, unknown dependencies (with "did you mean"), dependencies that cross
/// supervisors and cycles (one error per edge, naming the whole cycle) are compile errors. The
/// result is a [`DeclaredTree`]: the same [`SupervisorSpec`] a builder makes by hand, plus the
/// root's startup and shutdown orders as `'static` slices.
#[doc(inline)]
pub use supervisor_macros::supervisor;

/// The types most programs need: `use supervisor::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AutoShutdown, BackoffConfig, ChildSpec, DeclaredTree, Jitter, Readiness, RestartPolicy,
        ServiceError, ServiceFuture, ServicePhase, ShutdownPolicy, SpawnOptions, StopOutcome,
        Strategy, Supervisor, SupervisorConfig, SupervisorHandle, SupervisorSpec, TaskContext,
        TradingService, blocking_fn, service_fn,
    };
    pub use crate::{service, supervisor};
}
