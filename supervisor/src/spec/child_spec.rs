use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::ServiceOutput;
use super::service_output::Classified;
use super::supervisor_spec::SupervisorSpec;
use crate::context::TaskContext;
use crate::error::ServiceError;
use crate::model::{BackoffConfig, ChildKind, Readiness, RestartPolicy, ShutdownPolicy};
use crate::runtime::{MakeAttempt, SpawnAttempt};
use crate::service::{ServiceFuture, TradingService};

/// Spawns each async attempt, its future inside its task.
pub(crate) type AsyncFactory = Arc<dyn SpawnAttempt>;
/// Runs one blocking attempt.
pub(crate) type BlockingFactory =
    Arc<dyn Fn(TaskContext) -> Result<(), ServiceError> + Send + Sync>;

/// What runs a child's attempts.
#[derive(Clone)]
pub(crate) enum Run {
    Async(AsyncFactory),
    Blocking(BlockingFactory),
    Supervisor(Arc<SupervisorSpec>),
}

/// The declaration of one supervised child: what runs and under which policies.
///
/// Make one with [`service_fn`](crate::service_fn), [`blocking_fn`](crate::blocking_fn),
/// [`ChildSpec::from_service`] or [`ChildSpec::supervisor`], then adjust it with the `with_*`
/// methods and [`after`](ChildSpec::after). The factory makes a fresh future for every attempt.
///
/// Two specs are equal when their declared values are (name, kind, policies, dependencies,
/// tags, nested tree); the closures themselves are not compared.
///
/// ```
/// use std::time::Duration;
/// use supervisor::{service_fn, Readiness, RestartPolicy, ShutdownPolicy};
///
/// let risk = service_fn("risk_engine", |ctx| async move {
///     ctx.ready();
///     ctx.cancelled().await;
/// })
/// .with_restart(RestartPolicy::Always)
/// .with_readiness(Readiness::Explicit { timeout: Duration::from_secs(10) })
/// .with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(3)))
/// .after(["market_feed"])
/// .with_tag("critical");
/// assert_eq!(risk.dependencies().collect::<Vec<_>>(), ["market_feed"]);
/// ```
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) name: Arc<str>,
    pub(crate) run: Run,
    /// Shared between the children declared alike (every child of one `#[service]`, every
    /// default one): a large fleet holds one copy, and changing one child copies only its own.
    pub(crate) policy: Arc<ChildPolicy>,
}

/// A child's policies and links: everything declared about it but its name and what it runs.
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct ChildPolicy {
    pub(crate) restart: RestartPolicy,
    pub(crate) backoff: BackoffConfig,
    pub(crate) shutdown: Option<ShutdownPolicy>,
    pub(crate) readiness: Readiness,
    /// Siblings it starts after (`after` and `requires` alike).
    pub(crate) dependencies: Vec<Arc<str>>,
    /// The subset it is bound to (`requires`).
    pub(crate) requirements: Vec<Arc<str>>,
    pub(crate) tags: Vec<Arc<str>>,
    pub(crate) significant: bool,
    pub(crate) heartbeat_timeout: Option<Duration>,
    /// Mailboxes it sends into (declared with `produces`).
    pub(crate) produces: Vec<crate::mailbox::MailboxRef>,
}

impl ChildPolicy {
    /// The defaults with `restart`, one shared copy per restart policy.
    pub(crate) fn default_for(restart: RestartPolicy) -> Arc<ChildPolicy> {
        static DEFAULTS: std::sync::OnceLock<[Arc<ChildPolicy>; 3]> = std::sync::OnceLock::new();
        let defaults = DEFAULTS.get_or_init(|| {
            [
                RestartPolicy::Always,
                RestartPolicy::OnFailure,
                RestartPolicy::Never,
            ]
            .map(|restart| {
                Arc::new(ChildPolicy {
                    restart,
                    backoff: BackoffConfig::default(),
                    shutdown: None,
                    readiness: Readiness::Immediate,
                    dependencies: Vec::new(),
                    requirements: Vec::new(),
                    tags: Vec::new(),
                    significant: false,
                    heartbeat_timeout: None,
                    produces: Vec::new(),
                })
            })
        });
        let index = match restart {
            RestartPolicy::Always => 0,
            RestartPolicy::OnFailure => 1,
            RestartPolicy::Never => 2,
        };
        Arc::clone(&defaults[index])
    }
}

/// The policy shared by every spec one `#[service]` makes: built once, from the first.
#[doc(hidden)]
pub struct SharedPolicy(std::sync::OnceLock<Arc<ChildPolicy>>);

impl SharedPolicy {
    #[doc(hidden)]
    pub const fn new() -> Self {
        SharedPolicy(std::sync::OnceLock::new())
    }
}

impl Default for SharedPolicy {
    fn default() -> Self {
        Self::new()
    }
}

/// The attempts of a `service_fn` closure.
struct FnAttempts<F>(F);

impl<F, Fut> MakeAttempt for FnAttempts<F>
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: ServiceOutput,
{
    type Future = Classified<Fut>;

    fn make(self: Arc<Self>, ctx: TaskContext) -> Classified<Fut> {
        Classified::new((self.0)(ctx))
    }
}

/// The attempts of a [`TradingService`]: each is the future its `run` returns, which borrows
/// the service, kept alive beside it.
struct ServiceAttempts(Box<dyn TradingService>);

impl MakeAttempt for ServiceAttempts {
    type Future = ServiceRun;

    fn make(self: Arc<Self>, ctx: TaskContext) -> ServiceRun {
        // SAFETY: the future borrows the service, which lives on the heap behind the `Arc`
        // held in the same `ServiceRun`; `future` is declared first, so it is dropped before
        // that `Arc`, and it is never handed out on its own.
        let future = unsafe {
            std::mem::transmute::<ServiceFuture<'_>, ServiceFuture<'static>>(self.0.run(ctx))
        };
        ServiceRun {
            future,
            _service: self,
        }
    }
}

/// One attempt of a [`TradingService`] with the service it borrows.
struct ServiceRun {
    future: ServiceFuture<'static>,
    _service: Arc<ServiceAttempts>,
}

impl Future for ServiceRun {
    type Output = Result<(), ServiceError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        self.future.as_mut().poll(cx)
    }
}

/// An async child from a closure that makes each attempt's future.
///
/// The closure may return `()`, `Result<(), ServiceError>` or `Result<(), E>` for any error
/// convertible into [`ServiceError`]. Defaults: [`RestartPolicy::OnFailure`], the default
/// [`BackoffConfig`], immediate readiness, no dependencies.
///
/// ```
/// use supervisor::service_fn;
///
/// let feed = service_fn("market_feed", |ctx| async move {
///     while !ctx.is_cancelled() {
///         ctx.heartbeat();
///         tokio::time::sleep(std::time::Duration::from_millis(100)).await;
///     }
///     Ok::<(), std::io::Error>(())
/// });
/// assert_eq!(feed.name(), "market_feed");
/// ```
pub fn service_fn<F, Fut>(name: impl Into<Arc<str>>, run: F) -> ChildSpec
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: ServiceOutput,
{
    let factory: AsyncFactory = Arc::new(FnAttempts(run));
    ChildSpec::new(name.into(), Run::Async(factory), RestartPolicy::OnFailure)
}

/// A blocking child: a plain function run on Tokio's blocking pool for every attempt.
///
/// It gets the same [`TaskContext`]; it must check
/// [`is_cancelled`](TaskContext::is_cancelled) to stop, because blocking code cannot be aborted.
///
/// ```
/// use supervisor::blocking_fn;
///
/// let replay = blocking_fn("replay_archive", |ctx| {
///     while !ctx.is_cancelled() {
///         std::thread::sleep(std::time::Duration::from_millis(10));
///     }
/// });
/// assert_eq!(replay.kind(), supervisor::ChildKind::Blocking);
/// ```
pub fn blocking_fn<F, R>(name: impl Into<Arc<str>>, run: F) -> ChildSpec
where
    F: Fn(TaskContext) -> R + Send + Sync + 'static,
    R: ServiceOutput,
{
    let factory: BlockingFactory = Arc::new(move |ctx| run(ctx).into_service_result());
    ChildSpec::new(
        name.into(),
        Run::Blocking(factory),
        RestartPolicy::OnFailure,
    )
}

impl ChildSpec {
    /// An async child consuming a mailbox (see [`crate::mailbox::service_with_inbox`]).
    pub(crate) fn consumer(name: Arc<str>, attempts: AsyncFactory, restart: RestartPolicy) -> Self {
        ChildSpec::new(name, Run::Async(attempts), restart)
    }

    /// The mailbox this child consumes, if any.
    pub(crate) fn mailbox(&self) -> Option<&std::sync::Arc<dyn crate::mailbox::MailboxControl>> {
        match &self.run {
            Run::Async(attempts) => attempts.mailbox(),
            _ => None,
        }
    }

    /// Calls `each` with every mailbox this child consumes, and, for a supervisor, every one
    /// consumed in its tree.
    pub(crate) fn each_mailbox(
        &self,
        mut each: impl FnMut(&std::sync::Arc<dyn crate::mailbox::MailboxControl>),
    ) {
        self.each_in_subtree(|child| {
            if let Some(mailbox) = child.mailbox() {
                each(mailbox);
            }
        });
    }

    /// Calls `each` with every mailbox this child sends into (declared, and the dead-letter
    /// mailbox of one it consumes) and, for a supervisor, every one its tree sends into.
    pub(crate) fn each_produced(&self, mut each: impl FnMut(&crate::mailbox::MailboxRef)) {
        self.each_in_subtree(|child| {
            child.policy.produces.iter().for_each(&mut each);
            if let Some(sink) = child.mailbox().and_then(|mailbox| mailbox.feeds()) {
                each(&sink);
            }
        });
    }

    /// Calls `each` with this child and, for a supervisor, every child of its tree.
    fn each_in_subtree<'a>(&'a self, mut each: impl FnMut(&'a ChildSpec)) {
        let mut stack = vec![self];
        while let Some(child) = stack.pop() {
            each(child);
            if let Run::Supervisor(spec) = &child.run {
                stack.extend(&spec.children);
            }
        }
    }

    fn new(name: Arc<str>, run: Run, restart: RestartPolicy) -> Self {
        ChildSpec {
            name,
            run,
            policy: ChildPolicy::default_for(restart),
        }
    }

    /// This child's own policy, to change it (copied first if shared).
    fn policy_mut(&mut self) -> &mut ChildPolicy {
        Arc::make_mut(&mut self.policy)
    }

    /// With these restart policy (if given), backoff and readiness, sharing the policy last
    /// made through `cache` when it is the same (a front door adding many children alike
    /// keeps one copy).
    pub(crate) fn with_cached_policy(
        mut self,
        restart: Option<RestartPolicy>,
        backoff: BackoffConfig,
        readiness: Readiness,
        cache: &std::sync::Mutex<Option<Arc<ChildPolicy>>>,
    ) -> Self {
        let mut policy = (*self.policy).clone();
        policy.backoff = backoff;
        policy.readiness = readiness;
        if let Some(restart) = restart {
            policy.restart = restart;
        }
        let mut cached = cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*cached {
            Some(shared) if **shared == policy => self.policy = Arc::clone(shared),
            _ => {
                let shared = Arc::new(policy);
                *cached = Some(Arc::clone(&shared));
                self.policy = shared;
            }
        }
        self
    }

    /// Takes its policies from `shared`, made by `declare` (applied to this spec) the first
    /// time: every spec of one `#[service]` shares one copy.
    #[doc(hidden)]
    pub fn with_shared_policy(
        mut self,
        shared: &SharedPolicy,
        declare: impl FnOnce(ChildSpec) -> ChildSpec,
    ) -> Self {
        let policy = shared.0.get_or_init(|| declare(self.clone()).policy);
        self.policy = Arc::clone(policy);
        self
    }

    /// A child running a [`TradingService`], with the service's name and restart policy.
    pub fn from_service(service: impl TradingService) -> Self {
        Self::from_boxed_service(Box::new(service))
    }

    /// Like [`from_service`](Self::from_service), for a boxed service.
    pub fn from_boxed_service(service: Box<dyn TradingService>) -> Self {
        let name: Arc<str> = service.name().into();
        let restart = service.restart_policy();
        let factory: AsyncFactory = Arc::new(ServiceAttempts(service));
        ChildSpec::new(name, Run::Async(factory), restart)
    }

    /// A nested supervisor as a child, named after it. Defaults: [`RestartPolicy::Always`] and
    /// [`ShutdownPolicy::Infinity`] (it bounds its own children's shutdown).
    pub fn supervisor(spec: SupervisorSpec) -> Self {
        let name = Arc::clone(&spec.name);
        ChildSpec::new(name, Run::Supervisor(Arc::new(spec)), RestartPolicy::Always)
    }

    /// A pool named `name`: a supervisor child with no declared children, to which
    /// [`start_child`](crate::SupervisorHandle::start_child) adds up to `max` at once, each
    /// made by `template` from the arguments it is given and named `1`, `2`, ... in order
    /// (OTP's simple_one_for_one, Elixir's DynamicSupervisor). One-for-one, the default
    /// intensity; for others, build it with [`SupervisorSpecBuilder::pool`](crate::SupervisorSpecBuilder::pool).
    ///
    /// ```
    /// use supervisor::{ChildSpec, RestartPolicy, SupervisorSpec, service_fn};
    ///
    /// #[derive(Debug)]
    /// struct Order(u64);
    ///
    /// let workers = ChildSpec::pool("workers", 100, |order: Order| {
    ///     service_fn("order", move |ctx| async move {
    ///         let _ = (order.0, ctx);
    ///     })
    ///     .with_restart(RestartPolicy::Never)
    /// });
    /// let spec = SupervisorSpec::builder("bot").child(workers).build()?;
    /// assert!(spec.children()[0].nested().unwrap().is_pool());
    /// # Ok::<(), supervisor::error::SpecError>(())
    /// ```
    pub fn pool<A, F>(name: impl Into<Arc<str>>, max: usize, template: F) -> Self
    where
        A: Send + 'static,
        F: Fn(A) -> ChildSpec + Send + Sync + 'static,
    {
        let spec = SupervisorSpec::pool(name.into(), max, super::PoolTemplate::new(template));
        ChildSpec::supervisor(spec)
    }

    /// The same child under another name (to run one service twice, say).
    pub fn with_name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = name.into();
        self
    }

    /// When the child is restarted after it exits.
    pub fn with_restart(mut self, restart: RestartPolicy) -> Self {
        self.policy_mut().restart = restart;
        self
    }

    /// Delays between restarts and the circuit breaker.
    pub fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.policy_mut().backoff = backoff;
        self
    }

    /// How the child is stopped; by default within its supervisor's shutdown timeout
    /// ([`ShutdownPolicy::Infinity`] for a nested supervisor).
    pub fn with_shutdown(mut self, shutdown: ShutdownPolicy) -> Self {
        self.policy_mut().shutdown = Some(shutdown);
        self
    }

    /// When a started attempt counts as running; explicit readiness holds back dependents.
    pub fn with_readiness(mut self, readiness: Readiness) -> Self {
        self.policy_mut().readiness = readiness;
        self
    }

    /// Declares that this child sends into `mailbox`: at the tree's shutdown, the mailbox's
    /// consumer (or the sibling holding it) then stops only after this child has, so that it
    /// receives this child's last messages before its mailbox closes. A child sending into a
    /// mailbox without declaring it is stopped alongside the consumer instead, and its late
    /// sends fail with [`CloseReason::Shutdown`](crate::mailbox::CloseReason::Shutdown).
    ///
    /// ```
    /// use supervisor::mailbox::{Inbox, Mailbox, service_with_inbox};
    /// use supervisor::prelude::*;
    ///
    /// # fn main() -> Result<(), supervisor::error::SpecError> {
    /// let (orders, consumer) = Mailbox::<u32>::bounded("orders", 64)?;
    /// let router = service_with_inbox("router", consumer, |_ctx, inbox: &mut Inbox<u32>| {
    ///     Box::pin(async move { while inbox.recv().await.is_some() {} })
    /// });
    /// let outbox = orders.sender();
    /// let strategy = service_fn("strategy", move |ctx| {
    ///     let outbox = outbox.clone();
    ///     async move { outbox.send_with(&ctx, 1).await.map_err(|e| ServiceError::from(e.to_string())) }
    /// })
    /// .produces(&orders);
    /// let spec = SupervisorSpec::builder("bot").child(router).child(strategy).build()?;
    /// assert_eq!(spec.shutdown_order(), ["strategy", "router"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn produces<T: Send + 'static, D: crate::mailbox::DeliveryMode>(
        mut self,
        mailbox: &crate::mailbox::Mailbox<T, D>,
    ) -> Self {
        let mailbox = mailbox.erased();
        let policy = self.policy_mut();
        if !policy.produces.contains(&mailbox) {
            policy.produces.push(mailbox);
        }
        self
    }

    /// Start only once these siblings are running (ready), and stop before them. Ordering
    /// only, like systemd's `After=`: their restarts do not restart this child.
    pub fn after<I, S>(mut self, dependencies: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        let policy = self.policy_mut();
        for dependency in dependencies {
            let dependency = dependency.into();
            if !policy.dependencies.contains(&dependency) {
                policy.dependencies.push(dependency);
            }
        }
        self
    }

    /// [`after`](Self::after) plus binding, like systemd's `BindsTo=`: restarted with any of
    /// these siblings (stopped first, started again once it is back), and stopped for good,
    /// with [`TerminationReason::DependencyTerminated`](crate::TerminationReason), when one of
    /// them terminates for good; started again when that sibling is started again (by
    /// [`restart_child`](crate::SupervisorHandle::restart_child)).
    pub fn requires<I, S>(mut self, dependencies: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        let policy = self.policy_mut();
        for dependency in dependencies {
            let dependency = dependency.into();
            if !policy.requirements.contains(&dependency) {
                policy.requirements.push(Arc::clone(&dependency));
            }
            if !policy.dependencies.contains(&dependency) {
                policy.dependencies.push(dependency);
            }
        }
        self
    }

    /// A free-form label, for grouping in state and events.
    pub fn with_tag(mut self, tag: impl Into<Arc<str>>) -> Self {
        self.policy_mut().tags.push(tag.into());
        self
    }

    /// Whether the child's normal termination may stop its supervisor (see
    /// [`AutoShutdown`](crate::AutoShutdown)). A significant child must not be
    /// [`RestartPolicy::Always`].
    pub fn significant(mut self, significant: bool) -> Self {
        self.policy_mut().significant = significant;
        self
    }

    /// Treat the child as hung, and restart it, when it has not called
    /// [`TaskContext::heartbeat`] for `stale_after` while running.
    pub fn with_heartbeat_timeout(mut self, stale_after: Duration) -> Self {
        self.policy_mut().heartbeat_timeout = Some(stale_after);
        self
    }

    /// The child's name, unique among its siblings.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What runs its attempts.
    pub fn kind(&self) -> ChildKind {
        match self.run {
            Run::Async(_) => ChildKind::Async,
            Run::Blocking(_) => ChildKind::Blocking,
            Run::Supervisor(_) => ChildKind::Supervisor,
        }
    }

    /// Its restart policy.
    pub fn restart(&self) -> RestartPolicy {
        self.policy.restart
    }

    /// Its backoff and circuit breaker.
    pub fn backoff(&self) -> &BackoffConfig {
        &self.policy.backoff
    }

    /// Its shutdown policy, if set (else its supervisor's default).
    pub fn shutdown(&self) -> Option<ShutdownPolicy> {
        self.policy.shutdown
    }

    /// Its readiness.
    pub fn readiness(&self) -> Readiness {
        self.policy.readiness
    }

    /// The siblings it starts after, through [`after`](Self::after) or
    /// [`requires`](Self::requires), in the order first given.
    pub fn dependencies(&self) -> impl Iterator<Item = &str> {
        self.policy.dependencies.iter().map(|d| &**d)
    }

    /// The siblings it is bound to through [`requires`](Self::requires).
    pub fn requirements(&self) -> impl Iterator<Item = &str> {
        self.policy.requirements.iter().map(|d| &**d)
    }

    /// Its tags.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.policy.tags.iter().map(|t| &**t)
    }

    /// Whether it is significant.
    pub fn is_significant(&self) -> bool {
        self.policy.significant
    }

    /// Its heartbeat staleness limit, if any.
    pub fn heartbeat_timeout(&self) -> Option<Duration> {
        self.policy.heartbeat_timeout
    }

    /// The nested tree, for a supervisor child.
    pub fn nested(&self) -> Option<&SupervisorSpec> {
        match &self.run {
            Run::Supervisor(spec) => Some(spec),
            _ => None,
        }
    }
}

impl PartialEq for ChildSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.kind() == other.kind()
            && self.nested() == other.nested()
            && (Arc::ptr_eq(&self.policy, &other.policy) || self.policy == other.policy)
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = &self.policy;
        let mut s = f.debug_struct("ChildSpec");
        s.field("name", &self.name)
            .field("kind", &self.kind())
            .field("restart", &policy.restart)
            .field("backoff", &policy.backoff)
            .field("shutdown", &policy.shutdown)
            .field("readiness", &policy.readiness)
            .field("dependencies", &policy.dependencies)
            .field("requirements", &policy.requirements)
            .field("tags", &policy.tags)
            .field("significant", &policy.significant)
            .field("heartbeat_timeout", &policy.heartbeat_timeout);
        if let Some(nested) = self.nested() {
            s.field("nested", nested);
        }
        s.finish()
    }
}
