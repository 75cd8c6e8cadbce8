use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::runtime::Handle;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use super::child_spec::ChildSpec;
use super::config::{SpawnOptions, SupervisorConfig};
use super::node::{FinalState, Node, NodeMessage, NodeShared};
use super::shutdown_report::ShutdownReport;
use super::signal::{ShutdownSignals, next_signal};
use super::snapshot::ServiceLifecycleSnapshot;
use crate::error::{SpawnError, SupervisorError};
use crate::observe::{LifecycleEvent, SupervisorMetrics};
use crate::service::TradingService;

/// A one-for-one supervisor of a flat set of services: the imperative front door.
///
/// Add services with [`spawn_service`](Self::spawn_service); each runs as its own Tokio task
/// and is restarted per its [`RestartPolicy`](crate::RestartPolicy) and
/// [`BackoffConfig`](crate::BackoffConfig). A failing or panicking service never takes the
/// supervisor or its siblings down. [`run_until_shutdown`](Self::run_until_shutdown) waits for
/// SIGINT / SIGTERM or [`trigger_shutdown`](Self::trigger_shutdown), then stops every service:
/// cancel, wait up to the shutdown timeout, abort the rest.
///
/// Dropping the `Supervisor` requests shutdown too; the services then stop in the background.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use supervisor::{ServiceFuture, Supervisor, SupervisorConfig, TaskContext, TradingService};
///
/// struct Heartbeat;
///
/// impl TradingService for Heartbeat {
///     fn name(&self) -> &str {
///         "heartbeat"
///     }
///
///     fn run(&self, ctx: TaskContext) -> ServiceFuture<'_> {
///         Box::pin(async move {
///             while !ctx.is_cancelled() {
///                 ctx.heartbeat();
///                 tokio::time::sleep(Duration::from_millis(10)).await;
///             }
///             Ok(())
///         })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let supervisor = Supervisor::new(SupervisorConfig::default().without_signal_handler());
/// supervisor.spawn_service(Box::new(Heartbeat))?;
///
/// tokio::time::sleep(Duration::from_secs(1)).await;
/// supervisor.trigger_shutdown();
/// let report = supervisor.run_until_shutdown().await?;
/// assert_eq!(report.services.len(), 1);
/// assert_eq!(supervisor.metrics().snapshot().active_services, 0);
/// # Ok(())
/// # }
/// ```
pub struct Supervisor {
    config: SupervisorConfig,
    shared: Arc<NodeShared>,
    notify: UnboundedSender<NodeMessage>,
    state: Mutex<FrontState>,
}

/// What the front door guards under one lock, so a spawn and a shutdown never interleave.
struct FrontState {
    names: HashSet<Arc<str>>,
    /// The loop's inbox until the loop is started.
    unstarted: Option<UnboundedReceiver<NodeMessage>>,
    /// The loop's task once started, until someone waits for it.
    task: Option<JoinHandle<()>>,
}

impl Supervisor {
    /// A supervisor with no services. Its control loop starts with the first service.
    pub fn new(config: SupervisorConfig) -> Self {
        let (notify, messages) = unbounded_channel();
        Supervisor {
            shared: Arc::new(NodeShared::new(config.event_capacity())),
            config,
            notify,
            state: Mutex::new(FrontState {
                names: HashSet::new(),
                unstarted: Some(messages),
                task: None,
            }),
        }
    }

    /// Supervises `service` with the supervisor's default backoff and the service's own
    /// restart policy, starting it at once.
    ///
    /// # Errors
    ///
    /// [`SpawnError::DuplicateName`] if a service of that name is already supervised,
    /// [`SpawnError::EmptyName`], [`SpawnError::ShuttingDown`] after shutdown was requested,
    /// [`SpawnError::NoRuntime`] outside a Tokio runtime.
    pub fn spawn_service(&self, service: Box<dyn TradingService>) -> Result<(), SpawnError> {
        self.spawn_service_with_options(service, SpawnOptions::default())
    }

    /// Like [`spawn_service`](Self::spawn_service), with per-service settings.
    ///
    /// # Errors
    ///
    /// As [`spawn_service`](Self::spawn_service), plus [`SpawnError::InvalidConfig`] when the
    /// backoff is rejected by [`BackoffConfig::validate`](crate::BackoffConfig::validate) or
    /// the readiness timeout is zero.
    pub fn spawn_service_with_options(
        &self,
        service: Box<dyn TradingService>,
        options: SpawnOptions,
    ) -> Result<(), SpawnError> {
        options.validate()?;
        let backoff = *options.backoff().unwrap_or(self.config.default_backoff());
        backoff.validate()?;
        let restart = options
            .restart_policy()
            .unwrap_or_else(|| service.restart_policy());
        let spec =
            ChildSpec::from_service(Arc::from(service), restart, backoff, options.readiness());
        if spec.name.is_empty() {
            return Err(SpawnError::EmptyName);
        }
        let mut state = self.lock_state();
        if self.shared.shutdown.is_cancelled() {
            return Err(SpawnError::ShuttingDown);
        }
        if state.names.contains(&spec.name) {
            return Err(SpawnError::DuplicateName(spec.name.to_string()));
        }
        self.start_loop(&mut state)?;
        state.names.insert(Arc::clone(&spec.name));
        self.notify
            .send(NodeMessage::Spawn(Box::new(spec)))
            .map_err(|_| SpawnError::ShuttingDown)
    }

    /// Waits for SIGINT or SIGTERM (unless
    /// [`without_signal_handler`](SupervisorConfig::without_signal_handler)) or
    /// [`trigger_shutdown`](Self::trigger_shutdown), then shuts every service down and returns
    /// what happened to each. A second signal during the drain aborts the remaining services at
    /// once.
    ///
    /// # Errors
    ///
    /// [`SupervisorError::Signal`] if the signal handlers cannot be installed (the services are
    /// shut down first), [`SupervisorError::NoRuntime`] outside a Tokio runtime.
    pub async fn run_until_shutdown(&self) -> Result<ShutdownReport, SupervisorError> {
        self.start_loop(&mut self.lock_state())
            .map_err(|_| SupervisorError::NoRuntime)?;
        let mut signals = None;
        if self.config.handles_signals() {
            match ShutdownSignals::install() {
                Ok(installed) => signals = Some(installed),
                Err(error) => {
                    self.trigger_shutdown();
                    self.wait_for_drain().await;
                    return Err(SupervisorError::Signal(error));
                }
            }
        }
        tokio::select! {
            _ = self.shared.shutdown.cancelled() => {}
            signal = next_signal(&mut signals) => {
                tracing::info!(signal, "shutdown signal received; draining services");
            }
        }
        self.trigger_shutdown();
        tokio::select! {
            report = self.wait_for_drain() => return Ok(report),
            signal = next_signal(&mut signals) => {
                tracing::warn!(signal, "second signal during shutdown; aborting services now");
                self.shared.abort_now.cancel();
            }
        }
        Ok(self.wait_for_drain().await)
    }

    /// Requests shutdown: no new services are accepted and every service is asked to stop.
    /// Returns at once; [`wait_for_drain`](Self::wait_for_drain) waits for the end.
    pub fn trigger_shutdown(&self) {
        let mut state = self.lock_state();
        self.shared.shutdown.cancel();
        if state.unstarted.take().is_some() {
            // No loop ever ran: nothing to drain.
            self.shared.finish(FinalState {
                snapshots: Vec::new(),
                report: ShutdownReport::default(),
            });
        }
    }

    /// Whether shutdown has been requested.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.shutdown.is_cancelled()
    }

    /// Waits until shutdown has finished: every service has stopped and no task of the
    /// supervisor is alive. Does not request shutdown itself.
    pub async fn wait_for_drain(&self) -> ShutdownReport {
        self.shared.drained.cancelled().await;
        let task = self.lock_state().task.take();
        if let Some(task) = task {
            // The loop has published its result; this only waits for its task to be gone.
            let _ = task.await;
        }
        self.final_state(|state| state.report.clone())
            .unwrap_or_default()
    }

    /// The supervisor's counters.
    pub fn metrics(&self) -> &SupervisorMetrics {
        &self.shared.metrics
    }

    /// Every service's lifecycle, in the order the services were added; assembled now by the
    /// control loop (or the final state, after shutdown).
    pub async fn lifecycle_snapshots(&self) -> Vec<ServiceLifecycleSnapshot> {
        if self.lock_state().unstarted.is_some() {
            return Vec::new();
        }
        let (reply, answer) = oneshot::channel();
        if self.notify.send(NodeMessage::Snapshots(reply)).is_ok()
            && let Ok(snapshots) = answer.await
        {
            return snapshots;
        }
        // The loop is finishing: its final state is about to be published.
        self.shared.drained.cancelled().await;
        self.final_state(|state| state.snapshots.clone())
            .unwrap_or_default()
    }

    /// One service's lifecycle, if a service of that name was added.
    pub async fn service_lifecycle(&self, name: &str) -> Option<ServiceLifecycleSnapshot> {
        self.lifecycle_snapshots()
            .await
            .into_iter()
            .find(|snapshot| snapshot.name == name)
    }

    /// Every lifecycle change from now on, as one [`LifecycleEvent`] each. Events are built
    /// only while someone is subscribed.
    pub fn subscribe(&self) -> broadcast::Receiver<LifecycleEvent> {
        self.shared.events.subscribe()
    }

    fn start_loop(&self, state: &mut FrontState) -> Result<(), SpawnError> {
        if state.unstarted.is_none() {
            return Ok(());
        }
        let runtime = Handle::try_current().map_err(|_| SpawnError::NoRuntime)?;
        if let Some(messages) = state.unstarted.take() {
            let node = Node::new(
                Arc::clone(&self.shared),
                self.config.clone(),
                self.notify.clone(),
                messages,
            );
            state.task = Some(runtime.spawn(node.run()));
        }
        Ok(())
    }

    fn lock_state(&self) -> MutexGuard<'_, FrontState> {
        // The lock is never held across a panic-prone call; recover rather than propagate.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn final_state<T>(&self, read: impl FnOnce(&FinalState) -> T) -> Option<T> {
        self.shared
            .final_state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map(read)
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("config", &self.config)
            .field("shutting_down", &self.is_shutting_down())
            .field("metrics", &self.metrics().snapshot())
            .finish()
    }
}
