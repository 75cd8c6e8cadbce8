use std::fmt;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::command::{Action, ChildCounts, Command, CommandReceipt};
use super::health::Health;
use super::probe::Probe;
use super::root::Root;
use super::run_summary::RunSummary;
use super::shutdown_report::ShutdownReport;
use super::snapshot::ServiceLifecycleSnapshot;
use super::tree_state::TreeState;
use crate::error::{CommandError, SupervisorError};
use crate::observe::{EventStream, LifecycleEvent, SupervisorMetrics};
use crate::spec::ChildSpec;

/// The handle of a running tree, from [`Supervisor::start`](crate::Supervisor::start).
///
/// Cheap to clone; every clone controls the same tree. Dropping handles does not stop the
/// tree: call [`shutdown_tree`](Self::shutdown_tree) or
/// [`run_until_shutdown`](Self::run_until_shutdown).
///
/// ```
/// use supervisor::{service_fn, ServicePhase, Supervisor, SupervisorConfig, SupervisorSpec};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let spec = SupervisorSpec::builder("bot")
///     .child(service_fn("market_feed", |ctx| async move { ctx.cancelled().await }))
///     .build()?;
/// let tree = Supervisor::start_with_config(spec, SupervisorConfig::default().without_signal_handler()).await?;
///
/// let state = tree.current_state().await;
/// assert_eq!(state.find("bot/market_feed").unwrap().phase, ServicePhase::Running);
///
/// let report = tree.shutdown_tree("operator", "end of session").await;
/// assert_eq!(report.requested_by, "operator");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SupervisorHandle {
    root: Arc<Root>,
}

impl SupervisorHandle {
    pub(crate) fn new(root: Arc<Root>) -> Self {
        SupervisorHandle { root }
    }

    /// The root supervisor's name: the first segment of every path in the tree.
    pub fn name(&self) -> &str {
        self.root.name()
    }

    /// The wall-clock time the tree started: with the process id, it tells one run of a tree
    /// from another (its journal's sequence numbers start again with each).
    #[cfg(feature = "ipc")]
    pub(crate) fn started_wall(&self) -> std::time::SystemTime {
        self.root.tree.epoch_wall()
    }

    /// The whole tree now: every child's path, phase, attempt and last exit, nested
    /// supervisors included. After shutdown, the final state.
    pub async fn current_state(&self) -> TreeState {
        self.root.current_state().await
    }

    /// Shuts the tree down (dependents before their dependencies, each per its shutdown
    /// policy) and returns the report once no task of the tree is alive.
    pub async fn shutdown_tree(&self, requested_by: &str, reason: &str) -> ShutdownReport {
        self.root.request_shutdown(requested_by, reason);
        self.root.wait_for_drain().await
    }

    /// Runs until SIGINT / SIGTERM (unless the tree was started without signal handling), a
    /// [`shutdown_tree`](Self::shutdown_tree) from another clone, or the tree ending by itself
    /// (auto-shutdown, or the root giving up). A second signal aborts the drain.
    ///
    /// # Errors
    ///
    /// [`SupervisorError::Escalated`] when the root exceeded its restart intensity: the error
    /// says which child failed, how often and why. [`SupervisorError::Signal`] if the signal
    /// handlers cannot be installed.
    pub async fn run_until_shutdown(&self) -> Result<ShutdownReport, SupervisorError> {
        self.root.run_until_shutdown().await
    }

    /// Waits for the tree to end, without asking it to.
    pub async fn wait_for_drain(&self) -> ShutdownReport {
        self.root.wait_for_drain().await
    }

    /// Whether the tree has begun to shut down.
    pub fn is_shutting_down(&self) -> bool {
        self.root.is_shutting_down()
    }

    /// The root's children's lifecycles, in declaration order.
    pub async fn lifecycle_snapshots(&self) -> Vec<ServiceLifecycleSnapshot> {
        self.root.lifecycle_snapshots().await
    }

    /// Counters over the whole tree.
    pub fn metrics(&self) -> &SupervisorMetrics {
        &self.root.tree.metrics
    }

    /// Test-only (feature `fault-injection`, not part of the API): makes the control loop of
    /// the supervisor at `path` panic, to prove that nothing hangs when a loop dies.
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub fn inject_loop_panic(&self, path: &str) {
        self.root.inject_panic(path);
    }

    /// Restarts the child at `path` (`bot/execution/order_router`) now, as its supervisor's
    /// strategy would after a failure (one_for_all: every sibling with it; rest_for_one:
    /// those started after it; always the children that `requires` it), without a delay and
    /// without counting toward the restart intensity or its circuit breaker. A child that is
    /// waiting out a backoff starts now; a terminated one (its breaker opened, say) starts
    /// afresh with its breaker reset, and the children stopped because they require it start
    /// again once it runs (and none of their other requirements is terminated); a paused one
    /// is resumed. A quarantined child must be released first. The target restarts even if
    /// it is temporary (`RestartPolicy::Never`: the operator asked for it); a temporary
    /// sibling stopped with its scope ends, as in any group restart.
    ///
    /// `requested_by` and `reason` go into the audit event
    /// ([`EventKind::Command`](crate::EventKind::Command)) with the receipt's `command_id`.
    ///
    /// # Errors
    ///
    /// A [`CommandError`] for an unknown path, a child that cannot be reached or is
    /// quarantined, and any command during or after shutdown.
    pub async fn restart_child(
        &self,
        path: &str,
        requested_by: &str,
        reason: &str,
    ) -> Result<CommandReceipt, CommandError> {
        self.root
            .command(
                Action::OnChild(Command::Restart),
                path,
                requested_by,
                reason,
            )
            .await
    }

    /// Stops the child at `path` (per its shutdown policy) and keeps it [`Paused`]: it is not
    /// restarted until [`resume_child`](Self::resume_child). Children that `requires` it are
    /// stopped too and wait (phase `Waiting`) until it runs again; `after` dependents keep
    /// running. Pausing a paused child changes nothing.
    ///
    /// [`Paused`]: crate::ServicePhase::Paused
    ///
    /// # Errors
    ///
    /// As for [`restart_child`](Self::restart_child); a terminated or quarantined child cannot
    /// be paused.
    pub async fn pause_child(
        &self,
        path: &str,
        requested_by: &str,
        reason: &str,
    ) -> Result<CommandReceipt, CommandError> {
        self.root
            .command(Action::OnChild(Command::Pause), path, requested_by, reason)
            .await
    }

    /// Starts a paused child again (once its dependencies run). On a child that is not
    /// paused it changes nothing.
    ///
    /// # Errors
    ///
    /// As for [`restart_child`](Self::restart_child).
    pub async fn resume_child(
        &self,
        path: &str,
        requested_by: &str,
        reason: &str,
    ) -> Result<CommandReceipt, CommandError> {
        self.root
            .command(Action::OnChild(Command::Resume), path, requested_by, reason)
            .await
    }

    /// Stops the child at `path` and keeps it [`Quarantined`] until
    /// [`release_child`](Self::release_child): it stays visible in state, is left out of
    /// health, and no longer holds back the start of children ordered `after` it. Children that
    /// `requires` it are stopped and wait until it runs again.
    ///
    /// [`Quarantined`]: crate::ServicePhase::Quarantined
    ///
    /// # Errors
    ///
    /// As for [`restart_child`](Self::restart_child).
    pub async fn quarantine_child(
        &self,
        path: &str,
        requested_by: &str,
        reason: &str,
    ) -> Result<CommandReceipt, CommandError> {
        self.root
            .command(
                Action::OnChild(Command::Quarantine),
                path,
                requested_by,
                reason,
            )
            .await
    }

    /// Ends a quarantine: the child starts again (once its dependencies run). On a child that
    /// is not quarantined it changes nothing.
    ///
    /// # Errors
    ///
    /// As for [`restart_child`](Self::restart_child).
    pub async fn release_child(
        &self,
        path: &str,
        requested_by: &str,
        reason: &str,
    ) -> Result<CommandReceipt, CommandError> {
        self.root
            .command(
                Action::OnChild(Command::Release),
                path,
                requested_by,
                reason,
            )
            .await
    }

    /// Stops the child at `path` (per its shutdown policy) and drops it: its slot and spec are
    /// freed and its name may be used again. Only for children added at run time
    /// ([`add_child`](Self::add_child), [`start_child`](Self::start_child)); a declared child
    /// can be paused or quarantined instead. Once it is gone, its path is unknown.
    ///
    /// # Errors
    ///
    /// As for [`restart_child`](Self::restart_child); a declared child cannot be removed.
    pub async fn remove_child(
        &self,
        path: &str,
        requested_by: &str,
        reason: &str,
    ) -> Result<CommandReceipt, CommandError> {
        self.root
            .command(Action::OnChild(Command::Remove), path, requested_by, reason)
            .await
    }

    /// Adds `child` to the supervisor at `supervisor` (the root's name, or a nested
    /// supervisor's path) and starts it; the receipt names the new child's path. The
    /// supervisor must allow children at run time
    /// ([`max_dynamic_children`](crate::SupervisorSpecBuilder::max_dynamic_children)), and
    /// the child is checked as a declared one would be (name, policies), except that it can
    /// have no dependencies on siblings. A temporary child that ends, and a removed one, give
    /// their slot back.
    ///
    /// ```
    /// use supervisor::{service_fn, ServicePhase, Supervisor, SupervisorConfig, SupervisorSpec};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spec = SupervisorSpec::builder("bot").max_dynamic_children(10).build()?;
    /// let tree = Supervisor::start_with_config(spec, SupervisorConfig::default().without_signal_handler()).await?;
    /// let feed = service_fn("kraken_feed", |ctx| async move { ctx.cancelled().await });
    /// let added = tree.add_child("bot", feed, "operator", "new venue").await?;
    /// assert_eq!((added.path.as_str(), added.phase), ("bot/kraken_feed", ServicePhase::Running));
    /// assert_eq!(tree.count_children("bot").await?.active, 1);
    /// # tree.shutdown_tree("operator", "done").await;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`CommandError::DynamicChildrenNotAllowed`], [`CommandError::TooManyChildren`],
    /// [`CommandError::DuplicateName`], [`CommandError::InvalidChild`], and those of
    /// [`restart_child`](Self::restart_child) for the supervisor's path.
    pub async fn add_child(
        &self,
        supervisor: &str,
        child: ChildSpec,
        requested_by: &str,
        reason: &str,
    ) -> Result<CommandReceipt, CommandError> {
        self.root
            .command(
                Action::Add(Box::new(child)),
                supervisor,
                requested_by,
                reason,
            )
            .await
    }

    /// Starts a new child of the pool at `pool` ([`ChildSpec::pool`]), made by its template
    /// from `args`; the receipt names its path (`bot/workers/1`, `bot/workers/2`, ...).
    ///
    /// # Errors
    ///
    /// [`CommandError::NotAPool`], [`CommandError::WrongArguments`] when `args` is not of the
    /// type the template takes, [`CommandError::TooManyChildren`] at the pool's limit, and
    /// those of [`add_child`](Self::add_child).
    pub async fn start_child<A: Send + 'static>(
        &self,
        pool: &str,
        args: A,
        requested_by: &str,
        reason: &str,
    ) -> Result<CommandReceipt, CommandError> {
        self.root
            .command(
                Action::StartChild(Box::new(args)),
                pool,
                requested_by,
                reason,
            )
            .await
    }

    /// The children of the supervisor at `supervisor`, counted as OTP's `count_children`
    /// does.
    ///
    /// # Errors
    ///
    /// As for [`restart_child`](Self::restart_child), for the supervisor's path.
    pub async fn count_children(&self, supervisor: &str) -> Result<ChildCounts, CommandError> {
        self.root.count_children(supervisor).await
    }

    /// The tree's events from sequence number `seq` on (`1` for all): first those the journal
    /// still holds ([`SupervisorConfig::with_journal_capacity`](crate::SupervisorConfig::with_journal_capacity)),
    /// then live ones, until the tree has ended. A subscriber that comes late misses nothing the
    /// journal still holds; events it cannot have are reported as one [`Missed`](crate::Missed)
    /// with their number, and so are those it lost by lagging. It never slows the tree.
    ///
    /// ```
    /// use supervisor::{service_fn, EventKind, Supervisor, SupervisorConfig, SupervisorSpec};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spec = SupervisorSpec::builder("bot")
    ///     .child(service_fn("feed", |ctx| async move { ctx.cancelled().await }))
    ///     .build()?;
    /// let tree = Supervisor::start_with_config(spec, SupervisorConfig::default().without_signal_handler()).await?;
    /// tree.shutdown_tree("operator", "done").await;
    /// // Subscribed after the fact: the journal still has the whole run.
    /// let mut events = tree.subscribe_from(1);
    /// let first = events.next().await.unwrap()?;
    /// assert_eq!((first.seq, &*first.path), (1, "bot/feed"));
    /// assert!(matches!(first.kind, EventKind::PhaseChanged { .. }));
    /// let mut last = first;
    /// while let Some(event) = events.next().await {
    ///     last = event?;
    /// }
    /// assert_eq!(last.kind, EventKind::ShutdownCompleted);
    /// # Ok(())
    /// # }
    /// ```
    pub fn subscribe_from(&self, seq: u64) -> EventStream {
        self.root.subscribe_from(seq)
    }

    /// The tree's health: unhealthy while a child has terminated unexpectedly, an
    /// explicit-readiness child is not ready, or a heartbeat is stale (quarantined and paused
    /// children left out); `ready` is false as soon as shutdown begins. Each problem names
    /// its child.
    pub async fn health(&self) -> Health {
        let shutting_down = self.is_shutting_down();
        Health::of(&self.current_state().await, shutting_down)
    }

    /// A liveness probe (Kubernetes' `livenessProbe`): passes while every control loop of the
    /// tree answers within [`LIVENESS_TIMEOUT`](crate::LIVENESS_TIMEOUT); fails once the tree
    /// has ended or a loop is stuck. A child that fails does not fail it: restarting children
    /// is the tree's job, restarting the process the orchestrator's.
    ///
    /// ```
    /// use supervisor::prelude::*;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spec = SupervisorSpec::builder("bot")
    ///     .child(service_fn("feed", |ctx| async move { ctx.cancelled().await }))
    ///     .build()?;
    /// let tree = Supervisor::start_with_config(spec, SupervisorConfig::default().without_signal_handler()).await?;
    /// assert!(tree.liveness().await.passing);
    /// tree.shutdown_tree("example", "done").await;
    /// assert_eq!(tree.liveness().await.detail, "the tree has ended");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn liveness(&self) -> Probe {
        self.root.liveness(crate::LIVENESS_TIMEOUT).await
    }

    /// A readiness probe (Kubernetes' `readinessProbe`): passes once every child has been
    /// started, while the tree is [healthy](Self::health) and until shutdown begins (so that
    /// traffic drains first). Its detail names what is starting or unhealthy.
    pub async fn readiness(&self) -> Probe {
        let shutting_down = self.is_shutting_down();
        Probe::readiness(&self.current_state().await, shutting_down)
    }

    /// What the run amounted to so far, per child: restarts, failures by kind, the last
    /// failure, escalations, breaker trips, time running and, once the tree has ended, how
    /// each stopped. Built from the state and the journal (escalations older than the journal
    /// holds are not counted).
    pub async fn run_summary(&self) -> RunSummary {
        let state = self.current_state().await;
        let report = self.root.final_report();
        RunSummary::build(&state, &self.root.tree.journal(), report.as_ref())
    }

    /// Every lifecycle change in the tree from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LifecycleEvent> {
        self.root.tree.subscribe()
    }
}

impl fmt::Debug for SupervisorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorHandle")
            .field("shutting_down", &self.is_shutting_down())
            .field("metrics", &self.metrics().snapshot())
            .finish()
    }
}
