use std::fmt;

use tokio::sync::broadcast;

use super::SupervisorSpec;
use crate::error::{SpecError, SupervisorError};
use crate::observe::LifecycleEvent;
use crate::runtime::{ShutdownReport, Supervisor, SupervisorConfig, SupervisorHandle};

/// A tree declared with [`supervisor!`](crate::supervisor): its spec, and the root's startup
/// and shutdown orders as computed at compile time.
///
/// ```
/// use supervisor::{supervisor, TaskContext};
///
/// let tree = supervisor! {
///     name = "bot",
///     router = |ctx: TaskContext| async move { ctx.cancelled().await },
///     feed = |ctx: TaskContext| async move { ctx.cancelled().await },
///     risk = |ctx: TaskContext| async move { ctx.cancelled().await } after(feed),
/// };
/// assert_eq!(tree.startup_order(), ["router", "feed", "risk"]);
/// assert_eq!(tree.shutdown_order(), ["risk", "feed", "router"]);
/// let spec = tree.into_spec().unwrap();
/// assert_eq!(spec.startup_order(), ["router", "feed", "risk"]);
/// ```
pub struct DeclaredTree {
    spec: Result<SupervisorSpec, SpecError>,
    startup_order: &'static [&'static str],
    shutdown_order: &'static [&'static str],
}

impl DeclaredTree {
    #[doc(hidden)]
    pub fn new(
        spec: Result<SupervisorSpec, SpecError>,
        startup_order: &'static [&'static str],
        shutdown_order: &'static [&'static str],
    ) -> Self {
        DeclaredTree {
            spec,
            startup_order,
            shutdown_order,
        }
    }

    /// The root's children in startup order: dependencies first, ties in declaration order.
    pub fn startup_order(&self) -> &'static [&'static str] {
        self.startup_order
    }

    /// The root's children in shutdown order: the reverse of the startup order.
    pub fn shutdown_order(&self) -> &'static [&'static str] {
        self.shutdown_order
    }

    /// The spec. Every check the macro can make ran at compile time; what only the runtime
    /// sees (two services declaring the same `name`) is reported here.
    pub fn spec(&self) -> Result<&SupervisorSpec, &SpecError> {
        self.spec.as_ref()
    }

    /// The spec, by value.
    ///
    /// # Errors
    ///
    /// As [`spec`](Self::spec).
    pub fn into_spec(self) -> Result<SupervisorSpec, SpecError> {
        self.spec
    }

    /// Starts the tree (see [`Supervisor::start`]).
    ///
    /// # Errors
    ///
    /// [`SupervisorError::Spec`] if the spec was rejected, [`SupervisorError::NoRuntime`]
    /// outside a Tokio runtime.
    pub async fn start(self) -> Result<SupervisorHandle, SupervisorError> {
        self.start_with_config(SupervisorConfig::default()).await
    }

    /// Starts the tree with `config` (see [`Supervisor::start_with_config`]).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub async fn start_with_config(
        self,
        config: SupervisorConfig,
    ) -> Result<SupervisorHandle, SupervisorError> {
        let spec = self.spec.map_err(SupervisorError::Spec)?;
        Supervisor::start_with_config(spec, config).await
    }

    /// Starts the tree with a configuration file applied (see
    /// [`Supervisor::start_configured`]).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), and [`SupervisorError::ConfigFile`] when the file does not
    /// fit the tree.
    #[cfg(feature = "config")]
    pub async fn start_configured(
        self,
        file: &crate::config::TreeConfig,
        config: SupervisorConfig,
    ) -> Result<SupervisorHandle, SupervisorError> {
        let spec = self.spec.map_err(SupervisorError::Spec)?;
        Supervisor::start_configured(spec, file, config).await
    }

    /// Like [`start_with_config`](Self::start_with_config), with a subscription to the tree's
    /// events taken before anything starts (see [`Supervisor::start_with_events`]).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub async fn start_with_events(
        self,
        config: SupervisorConfig,
    ) -> Result<(SupervisorHandle, broadcast::Receiver<LifecycleEvent>), SupervisorError> {
        let spec = self.spec.map_err(SupervisorError::Spec)?;
        Supervisor::start_with_events(spec, config).await
    }

    /// Starts the tree and runs it until SIGINT / SIGTERM or until it ends by itself (see
    /// [`SupervisorHandle::run_until_shutdown`]).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start) and [`SupervisorHandle::run_until_shutdown`].
    pub async fn run_until_shutdown(self) -> Result<ShutdownReport, SupervisorError> {
        self.start().await?.run_until_shutdown().await
    }
}

impl fmt::Debug for DeclaredTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeclaredTree")
            .field("spec", &self.spec)
            .field("startup_order", &self.startup_order)
            .finish()
    }
}
