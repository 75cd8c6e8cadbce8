use std::time::Duration;

use crate::error::ConfigError;
use crate::model::{
    BackoffConfig, Readiness, RestartPolicy, check_event_capacity, check_journal_capacity,
    check_name, check_positive_duration,
};

/// Settings of a [`Supervisor`](crate::Supervisor).
///
/// ```
/// use std::time::Duration;
/// use supervisor::SupervisorConfig;
///
/// let config = SupervisorConfig::default()
///     .with_shutdown_timeout(Duration::from_secs(10))
///     .without_signal_handler();
/// assert_eq!(config.shutdown_timeout(), Duration::from_secs(10));
/// assert!(!config.handles_signals());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorConfig {
    name: String,
    shutdown_timeout: Duration,
    handle_signals: bool,
    default_backoff: BackoffConfig,
    rng_seed: Option<u64>,
    event_capacity: usize,
    journal_capacity: usize,
    child_metrics: bool,
    #[cfg(feature = "testing")]
    faults: FaultHook,
    /// Which of the settings that only [`Supervisor::new`](crate::Supervisor::new) uses were
    /// set, so that a declared tree can refuse them instead of ignoring them.
    imperative_only: ImperativeOnly,
}

/// A test kit's fault board, compared by identity.
#[cfg(feature = "testing")]
#[derive(Clone, Default)]
struct FaultHook(Option<std::sync::Arc<crate::testing::FaultBoard>>);

#[cfg(feature = "testing")]
impl PartialEq for FaultHook {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

#[cfg(feature = "testing")]
impl Eq for FaultHook {}

#[cfg(feature = "testing")]
impl std::fmt::Debug for FaultHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "FaultHook(on)"
        } else {
            "FaultHook(off)"
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct ImperativeOnly {
    name: bool,
    shutdown_timeout: bool,
    default_backoff: bool,
}

impl Default for SupervisorConfig {
    /// Named `supervisor`, shutdown timeout 5 s, SIGINT/SIGTERM handled, [`BackoffConfig::default`], jitter seeded
    /// from the OS, 1024 buffered events per subscriber.
    fn default() -> Self {
        SupervisorConfig {
            name: "supervisor".to_owned(),
            shutdown_timeout: Duration::from_secs(5),
            handle_signals: true,
            default_backoff: BackoffConfig::default(),
            rng_seed: None,
            #[cfg(feature = "testing")]
            faults: FaultHook::default(),
            event_capacity: 1024,
            journal_capacity: 1024,
            child_metrics: true,
            imperative_only: ImperativeOnly::default(),
        }
    }
}

impl SupervisorConfig {
    /// The root's name: the first segment of every path in events and state. For
    /// [`Supervisor::new`](crate::Supervisor::new); a declared tree is named by its spec, and
    /// starting one with another name here is an error.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self.imperative_only.name = true;
        self
    }

    /// How long services get to stop after cancellation before they are aborted. For
    /// [`Supervisor::new`](crate::Supervisor::new); a declared tree takes it from its spec, and
    /// setting it here for one is an error.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self.imperative_only.shutdown_timeout = true;
        self
    }

    /// Do not react to SIGINT / SIGTERM (Ctrl-C on Windows) in
    /// [`run_until_shutdown`](crate::Supervisor::run_until_shutdown); shut down only through
    /// [`trigger_shutdown`](crate::Supervisor::trigger_shutdown). For tests and for programs
    /// that handle signals themselves.
    pub fn without_signal_handler(mut self) -> Self {
        self.handle_signals = false;
        self
    }

    /// The backoff of services spawned without their own, for
    /// [`Supervisor::new`](crate::Supervisor::new); a declared tree's children carry their own,
    /// and setting it here for one is an error.
    pub fn with_default_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.default_backoff = backoff;
        self.imperative_only.default_backoff = true;
        self
    }

    /// Seeds the jitter, so a run's delays are reproducible (each supervisor draws every
    /// delay of its children from one rng seeded from this).
    pub fn with_rng_seed(mut self, seed: u64) -> Self {
        self.rng_seed = Some(seed);
        self
    }

    /// How many events a slow subscriber may fall behind before it misses some: between 1 and
    /// [`MAX_EVENT_CAPACITY`](crate::MAX_EVENT_CAPACITY) (the buffer is allocated up front).
    pub fn with_event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity;
        self
    }

    /// How many of the tree's last events the journal keeps, for
    /// [`subscribe_from`](crate::SupervisorHandle::subscribe_from) and
    /// [`run_summary`](crate::SupervisorHandle::run_summary): at most
    /// [`MAX_EVENT_CAPACITY`](crate::MAX_EVENT_CAPACITY), allocated up front; 0 keeps none
    /// (then an event with no subscriber is not even built). The default is 1,024.
    pub fn with_journal_capacity(mut self, capacity: usize) -> Self {
        self.journal_capacity = capacity;
        self
    }

    /// Whether the metrics list every child with its counters
    /// ([`MetricsSnapshot::children`](crate::MetricsSnapshot::children), and the Prometheus
    /// collector's per-child series); on by default. Off, only the tree's totals are kept, and
    /// a large fleet saves the listing (one entry per child) and its lock on every start and
    /// removal. Each child's own counters stay in its state either way.
    pub fn with_child_metrics(mut self, enabled: bool) -> Self {
        self.child_metrics = enabled;
        self
    }

    /// Checks every value against the same rules as a
    /// [`SupervisorSpec`](crate::SupervisorSpec): the name non-empty and without `/`, the
    /// shutdown timeout greater than zero and at most [`MAX_DURATION`](crate::MAX_DURATION),
    /// the default backoff valid, the event capacity within its bounds. Both front doors call
    /// it before anything starts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use supervisor::SupervisorConfig;
    ///
    /// let config = SupervisorConfig::default().with_shutdown_timeout(Duration::ZERO);
    /// assert_eq!(config.validate().unwrap_err().field(), "shutdown_timeout");
    /// ```
    ///
    /// # Errors
    ///
    /// The first value out of range, naming its field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_name(&self.name)?;
        check_positive_duration("shutdown_timeout", self.shutdown_timeout)?;
        self.default_backoff.validate()?;
        check_event_capacity(self.event_capacity)?;
        check_journal_capacity(self.journal_capacity)
    }

    /// The settings a declared tree named `tree` would silently ignore are refused instead:
    /// another name, a shutdown timeout or a default backoff.
    pub(crate) fn check_for_declared_tree(&self, tree: &str) -> Result<(), ConfigError> {
        let set = self.imperative_only;
        if set.name && self.name != tree {
            return Err(ConfigError::new(
                "name",
                format!("{:?}", self.name),
                format!(
                    "no name here, or the tree's own (`{tree}`): a declared tree is named by its spec (`name = ..` in `supervisor!`, or `SupervisorSpec::builder(..)`)"
                ),
            ));
        }
        if set.shutdown_timeout {
            return Err(ConfigError::new(
                "shutdown_timeout",
                format!("{:?}", self.shutdown_timeout),
                "no value here: a declared tree takes each supervisor's from its spec (`shutdown_timeout = ..` in `supervisor!`, or `SupervisorSpecBuilder::shutdown_timeout`)",
            ));
        }
        if set.default_backoff {
            return Err(ConfigError::new(
                "default_backoff",
                format!("{:?}", self.default_backoff),
                "no value here: each child of a declared tree carries its own backoff (`backoff(..)` in `#[service]`, or `ChildSpec::with_backoff`)",
            ));
        }
        Ok(())
    }

    /// The root's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long services get to stop before they are aborted.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// Whether `run_until_shutdown` reacts to signals.
    pub fn handles_signals(&self) -> bool {
        self.handle_signals
    }

    /// The backoff of services spawned without their own.
    pub fn default_backoff(&self) -> &BackoffConfig {
        &self.default_backoff
    }

    /// The jitter seed, if any.
    pub fn rng_seed(&self) -> Option<u64> {
        self.rng_seed
    }

    /// Events buffered per subscriber.
    pub fn event_capacity(&self) -> usize {
        self.event_capacity
    }

    /// The journal's capacity.
    pub fn journal_capacity(&self) -> usize {
        self.journal_capacity
    }

    /// Whether the metrics list every child (see
    /// [`with_child_metrics`](Self::with_child_metrics)).
    pub fn child_metrics(&self) -> bool {
        self.child_metrics
    }

    /// Attempts of async children are wrapped so that this board's faults reach them.
    #[cfg(feature = "testing")]
    pub(crate) fn with_faults(mut self, board: std::sync::Arc<crate::testing::FaultBoard>) -> Self {
        self.faults = FaultHook(Some(board));
        self
    }

    #[cfg(feature = "testing")]
    pub(crate) fn faults(&self) -> Option<std::sync::Arc<crate::testing::FaultBoard>> {
        self.faults.0.clone()
    }
}

/// Per-service settings for
/// [`spawn_service_with_options`](crate::Supervisor::spawn_service_with_options).
///
/// ```
/// use std::time::Duration;
/// use supervisor::{BackoffConfig, RestartPolicy, SpawnOptions};
///
/// let options = SpawnOptions::new()
///     .with_backoff(BackoffConfig::new(Duration::from_millis(50), Duration::from_secs(5)))
///     .with_restart_policy(RestartPolicy::Always);
/// assert_eq!(options.restart_policy(), Some(RestartPolicy::Always));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpawnOptions {
    backoff: Option<BackoffConfig>,
    restart_policy: Option<RestartPolicy>,
    readiness: Readiness,
}

impl SpawnOptions {
    /// No overrides: the supervisor's default backoff and the service's own restart policy.
    pub fn new() -> Self {
        SpawnOptions::default()
    }

    /// This service's backoff instead of the supervisor's default.
    pub fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// This restart policy instead of the one the service declares.
    pub fn with_restart_policy(mut self, policy: RestartPolicy) -> Self {
        self.restart_policy = Some(policy);
        self
    }

    /// When a started attempt counts as running; [`Readiness::Immediate`] unless set.
    pub fn with_readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// The backoff override, if any.
    pub fn backoff(&self) -> Option<&BackoffConfig> {
        self.backoff.as_ref()
    }

    /// The restart policy override, if any.
    pub fn restart_policy(&self) -> Option<RestartPolicy> {
        self.restart_policy
    }

    /// When a started attempt counts as running.
    pub fn readiness(&self) -> Readiness {
        self.readiness
    }

    /// Checks the readiness timeout and the backoff override.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Readiness::Explicit { timeout } = self.readiness {
            check_positive_duration("readiness.timeout", timeout)?;
        }
        self.backoff
            .as_ref()
            .map_or(Ok(()), BackoffConfig::validate)
    }
}
