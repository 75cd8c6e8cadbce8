use std::fmt;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::config::{SpawnOptions, SupervisorConfig};
use super::handle::SupervisorHandle;
use super::root::Root;
use super::shutdown_report::ShutdownReport;
use super::snapshot::ServiceLifecycleSnapshot;
use super::tree::TreeShared;
use crate::error::{ConfigError, SpawnError, SupervisorError};
use crate::observe::{LifecycleEvent, SupervisorMetrics};
use crate::service::TradingService;
use crate::spec::{ChildSpec, SupervisorSpec};

/// A one-for-one supervisor of a flat set of services: the imperative front door. For a
/// declared tree with strategies, dependencies and nesting, see [`Supervisor::start`].
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
    root: Arc<Root>,
    /// Why the config was rejected; then every call reports it and nothing runs.
    invalid: Option<ConfigError>,
    /// The policy of the last service added, shared by the next one if it is the same.
    policy: std::sync::Mutex<Option<Arc<crate::spec::ChildPolicy>>>,
}

impl Supervisor {
    /// A supervisor with no services. Its control loop starts with the first service.
    ///
    /// It restarts each service on its own (one-for-one) with no restart-intensity limit: the
    /// services' circuit breakers bound their restarts.
    ///
    /// The config is checked with [`SupervisorConfig::validate`]; if it is rejected, nothing
    /// runs and every call reports the error ([`SpawnError::InvalidConfig`],
    /// [`SupervisorError::InvalidConfig`]).
    pub fn new(config: SupervisorConfig) -> Self {
        let invalid = config.validate().err();
        let spec = SupervisorSpec::imperative_root(config.name(), config.shutdown_timeout());
        let tree = TreeShared::new(&config);
        let root = Root::new(spec, tree, config.handles_signals(), config.rng_seed());
        if invalid.is_some() {
            root.request_shutdown("supervisor", "invalid config");
        }
        Supervisor {
            config,
            root: Arc::new(root),
            invalid,
            policy: std::sync::Mutex::new(None),
        }
    }

    /// Starts a declared tree and returns its handle once the first children have been
    /// started (in dependency order). SIGINT / SIGTERM are handled by
    /// [`SupervisorHandle::run_until_shutdown`]; see [`start_with_config`](Self::start_with_config)
    /// to change that.
    ///
    /// # Errors
    ///
    /// [`SupervisorError::NoRuntime`] outside a Tokio runtime.
    pub async fn start(spec: SupervisorSpec) -> Result<SupervisorHandle, SupervisorError> {
        Self::start_with_config(spec, SupervisorConfig::default()).await
    }

    /// Like [`start`](Self::start), taking signal handling, the jitter seed and the event
    /// capacity from `config`. Its name, shutdown timeout and default backoff are for
    /// [`Supervisor::new`] only (a spec declares its own): setting them here is an error rather
    /// than silently ignored.
    ///
    /// # Errors
    ///
    /// [`SupervisorError::NoRuntime`] outside a Tokio runtime, [`SupervisorError::InvalidConfig`]
    /// when [`SupervisorConfig::validate`] rejects `config` or it sets a name, shutdown timeout
    /// or default backoff (for [`Supervisor::new`] only).
    pub async fn start_with_config(
        spec: SupervisorSpec,
        config: SupervisorConfig,
    ) -> Result<SupervisorHandle, SupervisorError> {
        Ok(Self::launch(spec, config, false).await?.0)
    }

    /// Like [`start_with_config`](Self::start_with_config), with a configuration file applied
    /// first ([`TreeConfig::apply`](crate::config::TreeConfig::apply) and
    /// [`TreeConfig::supervisor_config`](crate::config::TreeConfig::supervisor_config)): the
    /// file's values override the spec's, its `children` entries override its `policy`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use supervisor::config::TreeConfig;
    /// use supervisor::{ServicePhase, Supervisor, SupervisorConfig, SupervisorSpec, service_fn};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // In code the feed restarts after a failure (on_failure, the default) ...
    /// let spec = SupervisorSpec::builder("bot")
    ///     .child(service_fn("feed", |_ctx| async {
    ///         Err::<(), _>(std::io::Error::other("exchange down"))
    ///     }))
    ///     .build()?;
    /// // ... the operator's file says never.
    /// let file = TreeConfig::from_yaml("children:\n  bot/feed: { restart: never }\n", "bot.yaml")?;
    /// let config = SupervisorConfig::default().without_signal_handler();
    /// let tree = Supervisor::start_configured(spec, &file, config).await?;
    /// tokio::time::sleep(Duration::from_secs(1)).await;
    /// let state = tree.current_state().await;
    /// let feed = state.find("bot/feed").unwrap();
    /// assert_eq!((feed.phase, feed.attempt), (ServicePhase::Terminated, 1));
    /// tree.shutdown_tree("example", "done").await;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SupervisorError::ConfigFile`] when the file does not fit the tree (a path that names
    /// no child, say), and as [`start_with_config`](Self::start_with_config).
    #[cfg(feature = "config")]
    pub async fn start_configured(
        spec: SupervisorSpec,
        file: &crate::config::TreeConfig,
        config: SupervisorConfig,
    ) -> Result<SupervisorHandle, SupervisorError> {
        let configured = file.apply(spec).map_err(SupervisorError::ConfigFile)?;
        Self::start_with_config(configured.spec, file.supervisor_config(config)).await
    }

    /// Like [`start_with_config`](Self::start_with_config), with a subscription to the
    /// tree's [`LifecycleEvent`]s taken before anything starts, so the first starts are in it.
    ///
    /// # Errors
    ///
    /// As [`start_with_config`](Self::start_with_config).
    pub async fn start_with_events(
        spec: SupervisorSpec,
        config: SupervisorConfig,
    ) -> Result<(SupervisorHandle, broadcast::Receiver<LifecycleEvent>), SupervisorError> {
        let (handle, events) = Self::launch(spec, config, true).await?;
        let events = events.unwrap_or_else(|| handle.subscribe());
        Ok((handle, events))
    }

    /// Starts the root; with `subscribe`, a subscription taken before the first start (taken
    /// only then: events are built only while someone listens).
    async fn launch(
        spec: SupervisorSpec,
        config: SupervisorConfig,
        subscribe: bool,
    ) -> Result<
        (
            SupervisorHandle,
            Option<broadcast::Receiver<LifecycleEvent>>,
        ),
        SupervisorError,
    > {
        config.validate().map_err(SupervisorError::InvalidConfig)?;
        config
            .check_for_declared_tree(spec.name())
            .map_err(SupervisorError::InvalidConfig)?;
        let tree = TreeShared::new(&config);
        let events = subscribe.then(|| tree.subscribe());
        let root = Root::new(spec, tree, config.handles_signals(), config.rng_seed());
        let root = Arc::new(root);
        root.start().map_err(|_| SupervisorError::NoRuntime)?;
        // The loop runs its first start pass before it reads any message: once this one is
        // answered, the first children have been started (nothing is built for the answer).
        root.sync().await;
        Ok((SupervisorHandle::new(root), events))
    }

    /// Supervises `service` with the supervisor's default backoff and the service's own
    /// restart policy, starting it at once.
    ///
    /// # Errors
    ///
    /// [`SpawnError::DuplicateName`] if a service of that name is already supervised,
    /// [`SpawnError::EmptyName`], [`SpawnError::InvalidConfig`] for a name containing `/` or
    /// when the supervisor's own config was rejected, [`SpawnError::ShuttingDown`] after
    /// shutdown was requested, [`SpawnError::NoRuntime`] outside a Tokio runtime.
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
        if let Some(error) = &self.invalid {
            return Err(SpawnError::InvalidConfig(error.clone()));
        }
        options.validate()?;
        let backoff = *options.backoff().unwrap_or(self.config.default_backoff());
        backoff.validate()?;
        let spec = ChildSpec::from_boxed_service(service).with_cached_policy(
            options.restart_policy(),
            backoff,
            options.readiness(),
            &self.policy,
        );
        self.root.add_child(spec)
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
        if let Some(error) = &self.invalid {
            return Err(SupervisorError::InvalidConfig(error.clone()));
        }
        self.root.run_until_shutdown().await
    }

    /// Requests shutdown: no new services are accepted and every service is asked to stop.
    /// Returns at once; [`wait_for_drain`](Self::wait_for_drain) waits for the end.
    pub fn trigger_shutdown(&self) {
        self.root
            .request_shutdown("supervisor", "trigger_shutdown called");
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.root.is_shutting_down()
    }

    /// Waits until shutdown has finished: every service has stopped and no task of the
    /// supervisor is alive. Does not request shutdown itself.
    pub async fn wait_for_drain(&self) -> ShutdownReport {
        self.root.wait_for_drain().await
    }

    /// The supervisor's counters.
    pub fn metrics(&self) -> &SupervisorMetrics {
        &self.root.tree.metrics
    }

    /// Every service's lifecycle, in the order the services were added; assembled now by the
    /// control loop (or the final state, after shutdown).
    pub async fn lifecycle_snapshots(&self) -> Vec<ServiceLifecycleSnapshot> {
        self.root.lifecycle_snapshots().await
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
        self.root.tree.subscribe()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.root.request_shutdown("supervisor", "dropped");
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
