use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::child_spec::{ChildPolicy, ChildSpec};
use super::pool::PoolTemplate;
use crate::error::{ConfigError, SpecError};
use crate::model::{
    AutoShutdown, ChildKind, Intensity, MAX_DYNAMIC_CHILDREN, MAX_NESTING_DEPTH, Readiness,
    RestartPolicy, ShutdownPolicy, Strategy, check_count, check_duration, check_dynamic_limit,
    check_name, check_positive_duration,
};
use crate::policy::{dependents_of, startup_order};

/// The declaration of a supervisor and its children, validated by
/// [`SupervisorSpecBuilder::build`]. Start it with
/// [`Supervisor::start`](crate::Supervisor::start), or nest it with
/// [`ChildSpec::supervisor`].
///
/// ```
/// use supervisor::{service_fn, ChildSpec, Strategy, SupervisorSpec};
///
/// let idle = |name: &'static str| service_fn(name, |ctx| async move { ctx.cancelled().await });
/// let execution = SupervisorSpec::builder("execution")
///     .strategy(Strategy::RestForOne)
///     .child(idle("order_router"))
///     .child(idle("fill_tracker").after(["order_router"]))
///     .build()?;
/// let bot = SupervisorSpec::builder("bot")
///     .child(idle("risk_engine").after(["market_feed"]))
///     .child(idle("market_feed"))
///     .child(ChildSpec::supervisor(execution))
///     .build()?;
/// assert_eq!(bot.startup_order(), ["market_feed", "risk_engine", "execution"]);
/// assert_eq!(bot.shutdown_order(), ["execution", "risk_engine", "market_feed"]);
/// # Ok::<(), supervisor::error::SpecError>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct SupervisorSpec {
    pub(crate) name: Arc<str>,
    pub(crate) strategy: Strategy,
    pub(crate) intensity: Option<Intensity>,
    pub(crate) shutdown_timeout: Duration,
    /// How long shutdown waits for an aborted worker's task to be gone before it reports the
    /// worker detached and goes on.
    pub(crate) abort_wait: Duration,
    pub(crate) auto_shutdown: AutoShutdown,
    pub(crate) children: Vec<ChildSpec>,
    /// Derived from `children` by `build`.
    pub(crate) layout: Arc<Layout>,
    /// Levels of supervisors from this one down, itself included.
    pub(crate) depth: usize,
    /// How many children may be added at run time, at once.
    pub(crate) max_dynamic_children: usize,
    /// For a pool: what `start_child` makes.
    pub(crate) pool: Option<PoolTemplate>,
}

/// The dependency structure of a spec's children, by index. Holds nothing when no child
/// depends on another (the common case, and a large fleet's): then the startup order is the
/// declaration order.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Layout {
    /// Every sibling each child starts after (`after` and `requires`).
    dependencies: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    /// The children bound to each child through `requires`: restarted and ended with it.
    bound_dependents: Vec<Vec<usize>>,
    /// Child indices in startup order.
    order: Vec<usize>,
    /// Each child's position in `order`.
    rank: Vec<usize>,
    /// How many children it describes.
    len: usize,
    /// For each child, the siblings that send into a mailbox its subtree consumes: at the
    /// tree's shutdown it stops after them. Empty when no child consumes a mailbox.
    drain_producers: Vec<Vec<usize>>,
    /// The inverse: the siblings each child sends into.
    drain_consumers: Vec<Vec<usize>>,
}

impl Layout {
    /// The layout of `len` children with these dependencies and requirements (by index,
    /// `dependencies` include the requirements) started in `order`.
    fn new(dependencies: Vec<Vec<usize>>, requirements: &[Vec<usize>], order: Vec<usize>) -> Self {
        let len = order.len();
        if dependencies.iter().all(Vec::is_empty) {
            return Layout {
                len,
                ..Layout::default()
            };
        }
        let mut rank = vec![0; len];
        for (position, &child) in order.iter().enumerate() {
            rank[child] = position;
        }
        Layout {
            dependents: dependents_of(&dependencies),
            bound_dependents: dependents_of(requirements),
            dependencies,
            order,
            rank,
            len,
            ..Layout::default()
        }
    }

    /// Whether no child depends on another.
    pub(crate) fn is_flat(&self) -> bool {
        self.dependencies.is_empty()
    }

    /// The siblings child `index` starts after; none for a child added at run time.
    pub(crate) fn dependencies(&self, index: usize) -> &[usize] {
        self.dependencies.get(index).map_or(&[], Vec::as_slice)
    }

    /// The children that start after child `index`.
    pub(crate) fn dependents(&self, index: usize) -> &[usize] {
        self.dependents.get(index).map_or(&[], Vec::as_slice)
    }

    /// The children bound to child `index` through `requires`.
    pub(crate) fn bound_dependents(&self, index: usize) -> &[usize] {
        self.bound_dependents.get(index).map_or(&[], Vec::as_slice)
    }

    /// Whether some child stops after a sibling that sends into its mailbox.
    pub(crate) fn has_drains(&self) -> bool {
        !self.drain_producers.is_empty()
    }

    /// The siblings that send into a mailbox child `index`'s subtree consumes.
    pub(crate) fn drain_producers(&self, index: usize) -> &[usize] {
        self.drain_producers.get(index).map_or(&[], Vec::as_slice)
    }

    /// The siblings whose mailboxes child `index` sends into.
    pub(crate) fn drain_consumers(&self, index: usize) -> &[usize] {
        self.drain_consumers.get(index).map_or(&[], Vec::as_slice)
    }

    fn with_drains(mut self, producers: Vec<Vec<usize>>) -> Self {
        if producers.iter().any(|p| !p.is_empty()) {
            self.drain_consumers = dependents_of(&producers);
            self.drain_producers = producers;
        }
        self
    }

    /// The order the tree's shutdown stops children in: each after its dependents and, as a
    /// consumer, after its producers; otherwise newest first.
    fn stop_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = self.order().collect();
        order.reverse();
        if self.drain_producers.is_empty() {
            return order;
        }
        let mut stopped = vec![false; self.len];
        let mut result = Vec::with_capacity(self.len);
        while result.len() < self.len {
            let ready = order.iter().copied().find(|&i| {
                !stopped[i]
                    && self.dependents(i).iter().all(|&d| stopped[d])
                    && self.drain_producers(i).iter().all(|&p| stopped[p])
            });
            // Built without cycles; should one slip through, the rest go newest first.
            let Some(next) = ready.or_else(|| order.iter().copied().find(|&i| !stopped[i])) else {
                break;
            };
            stopped[next] = true;
            result.push(next);
        }
        result
    }

    /// The position of declared child `index` in the startup order.
    pub(crate) fn rank(&self, index: usize) -> Option<usize> {
        match self.rank.is_empty() {
            true => (index < self.len).then_some(index),
            false => self.rank.get(index).copied(),
        }
    }

    /// The declared children's indices in startup order.
    pub(crate) fn order(&self) -> impl Iterator<Item = usize> + '_ {
        let identity = self.order.is_empty().then_some(0..self.len);
        self.order
            .iter()
            .copied()
            .chain(identity.into_iter().flatten())
    }
}

/// Builds a [`SupervisorSpec`]; see [`SupervisorSpec::builder`].
#[derive(Debug, Clone)]
#[must_use = "call `.build()` to validate the spec"]
pub struct SupervisorSpecBuilder {
    /// The first error of a nested builder, reported by `build`.
    pub(crate) nested_error: Option<SpecError>,
    name: Arc<str>,
    strategy: Strategy,
    intensity: Option<Intensity>,
    shutdown_timeout: Duration,
    abort_wait: Duration,
    auto_shutdown: AutoShutdown,
    children: Vec<ChildSpec>,
    max_dynamic_children: usize,
    pool: Option<PoolTemplate>,
}

/// The default [`SupervisorSpecBuilder::abort_wait`].
pub(crate) const DEFAULT_ABORT_WAIT: Duration = Duration::from_secs(5);

impl SupervisorSpec {
    /// Every path in the tree below its root (`bot/feeds/binance`), with its kind.
    #[cfg(any(feature = "config", feature = "testing"))]
    pub(crate) fn paths(&self) -> std::collections::BTreeMap<String, ChildKind> {
        let mut paths = std::collections::BTreeMap::new();
        let mut stack = vec![(self.name.to_string(), self)];
        while let Some((path, spec)) = stack.pop() {
            for child in &spec.children {
                let child_path = format!("{path}/{}", child.name);
                paths.insert(child_path.clone(), child.kind());
                if let Some(nested) = child.nested() {
                    stack.push((child_path, nested));
                }
            }
        }
        paths
    }

    /// A builder with the defaults: [`Strategy::OneForOne`], [`Intensity::default`] (10
    /// restarts within 60 s), a 5 s shutdown timeout per child, a 5 s abort wait,
    /// [`AutoShutdown::Never`].
    pub fn builder(name: impl Into<Arc<str>>) -> SupervisorSpecBuilder {
        SupervisorSpecBuilder {
            nested_error: None,
            name: name.into(),
            strategy: Strategy::OneForOne,
            intensity: Some(Intensity::default()),
            shutdown_timeout: Duration::from_secs(5),
            abort_wait: DEFAULT_ABORT_WAIT,
            auto_shutdown: AutoShutdown::Never,
            children: Vec::new(),
            max_dynamic_children: 0,
            pool: None,
        }
    }

    /// The root of [`Supervisor::new`](crate::Supervisor::new): one-for-one, no intensity
    /// limit, children added at run time.
    pub(crate) fn imperative_root(name: &str, shutdown_timeout: Duration) -> Self {
        SupervisorSpec {
            name: name.into(),
            strategy: Strategy::OneForOne,
            intensity: None,
            shutdown_timeout,
            abort_wait: DEFAULT_ABORT_WAIT,
            auto_shutdown: AutoShutdown::Never,
            children: Vec::new(),
            layout: Arc::default(),
            depth: 1,
            max_dynamic_children: MAX_DYNAMIC_CHILDREN,
            pool: None,
        }
    }

    /// A pool: no declared children, up to `max` made at run time by
    /// [`start_child`](crate::SupervisorHandle::start_child) from `template`.
    pub(crate) fn pool(name: Arc<str>, max: usize, template: PoolTemplate) -> Self {
        SupervisorSpec {
            name,
            strategy: Strategy::OneForOne,
            intensity: Some(Intensity::default()),
            shutdown_timeout: Duration::from_secs(5),
            abort_wait: DEFAULT_ABORT_WAIT,
            auto_shutdown: AutoShutdown::Never,
            children: Vec::new(),
            layout: Arc::default(),
            depth: 1,
            max_dynamic_children: max,
            pool: Some(template),
        }
    }

    /// How many children may be added to it at run time, at once.
    pub fn max_dynamic_children(&self) -> usize {
        self.max_dynamic_children
    }

    /// Whether it is a pool ([`ChildSpec::pool`]).
    pub fn is_pool(&self) -> bool {
        self.pool.is_some()
    }

    /// The supervisor's name; the first segment of its children's paths.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its restart strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Its restart intensity, if limited.
    pub fn intensity(&self) -> Option<Intensity> {
        self.intensity
    }

    /// The default time each child gets to stop.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// How long shutdown waits for an aborted worker's task (see
    /// [`SupervisorSpecBuilder::abort_wait`]).
    pub fn abort_wait(&self) -> Duration {
        self.abort_wait
    }

    /// Whether significant children end it.
    pub fn auto_shutdown(&self) -> AutoShutdown {
        self.auto_shutdown
    }

    /// Its children, in declaration order.
    pub fn children(&self) -> &[ChildSpec] {
        &self.children
    }

    /// Child names in startup order: dependencies first, ties in declaration order.
    pub fn startup_order(&self) -> Vec<&str> {
        self.layout
            .order()
            .map(|i| self.children[i].name())
            .collect()
    }

    /// Child names in the order the tree's shutdown stops them: the reverse of the startup
    /// order, except that a mailbox's consumer stops after the children that send into it
    /// ([`ChildSpec::produces`]). Children with no order between them stop at once.
    pub fn shutdown_order(&self) -> Vec<&str> {
        self.layout
            .stop_order()
            .into_iter()
            .map(|i| self.children[i].name())
            .collect()
    }
}

impl fmt::Debug for SupervisorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorSpec")
            .field("name", &self.name)
            .field("strategy", &self.strategy)
            .field("intensity", &self.intensity)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("auto_shutdown", &self.auto_shutdown)
            .field("children", &self.children)
            .field("max_dynamic_children", &self.max_dynamic_children)
            .field("pool", &self.pool)
            .finish()
    }
}

/// Each mailbox consumed in the tree under `supervisor` is consumed by one child (a cloned
/// consumer spec would make two).
fn check_one_consumer_each(supervisor: &str, children: &[ChildSpec]) -> Result<(), SpecError> {
    let mut consumers: HashMap<*const (), String> = HashMap::new();
    let mut stack: Vec<(String, &ChildSpec)> = children
        .iter()
        .map(|child| (format!("{supervisor}/{}", child.name), child))
        .collect();
    while let Some((path, child)) = stack.pop() {
        if let Some(nested) = child.nested() {
            stack.extend(
                nested
                    .children
                    .iter()
                    .map(|grandchild| (format!("{path}/{}", grandchild.name), grandchild)),
            );
        }
        let Some(mailbox) = child.mailbox() else {
            continue;
        };
        let identity = Arc::as_ptr(mailbox).cast::<()>();
        if let Some(first) = consumers.insert(identity, path.clone()) {
            let mut pair = [first, path];
            pair.sort();
            return Err(SpecError::MailboxConsumedTwice {
                mailbox: mailbox.name().to_owned(),
                consumers: pair,
            });
        }
    }
    Ok(())
}

impl SupervisorSpecBuilder {
    /// Which children restart with a failed one.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// More than `max_restarts` restarts within `within` fail this supervisor.
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.intensity = Some(Intensity {
            max_restarts,
            within,
        });
        self
    }

    /// Never fail this supervisor for restarting too often (children's circuit breakers
    /// still apply).
    pub fn without_intensity_limit(mut self) -> Self {
        self.intensity = None;
        self
    }

    /// The time each child gets to stop, unless its own [`ShutdownPolicy`] says otherwise.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long shutdown waits, after aborting a worker that did not stop in time, for its task
    /// to be gone (5 s by default). A task stuck inside a poll (blocking code in an async
    /// fn) cannot be aborted until that poll returns: past this wait it is reported
    /// [`Detached`](crate::StopOutcome::Detached) and shutdown goes on without it. Nested
    /// supervisors bound their own workers with their own wait.
    pub fn abort_wait(mut self, wait: Duration) -> Self {
        self.abort_wait = wait;
        self
    }

    /// Whether significant children end this supervisor.
    pub fn auto_shutdown(mut self, auto_shutdown: AutoShutdown) -> Self {
        self.auto_shutdown = auto_shutdown;
        self
    }

    /// Allows up to `max` children at once to be added at run time, with
    /// [`add_child`](crate::SupervisorHandle::add_child) (at most [`MAX_DYNAMIC_CHILDREN`]).
    /// The default is none.
    pub fn max_dynamic_children(mut self, max: usize) -> Self {
        self.max_dynamic_children = max;
        self
    }

    /// Makes this supervisor a pool: up to `max` identical children made from `template` by
    /// [`start_child`](crate::SupervisorHandle::start_child) (OTP's simple_one_for_one). Use it
    /// to set a pool's strategy or intensity; [`ChildSpec::pool`] is the short form.
    pub fn pool<A, F>(mut self, max: usize, template: F) -> Self
    where
        A: Send + 'static,
        F: Fn(A) -> ChildSpec + Send + Sync + 'static,
    {
        self.max_dynamic_children = max;
        self.pool = Some(PoolTemplate::new(template));
        self
    }

    /// Adds a child.
    pub fn child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// Builds `nested` and adds it as a supervisor child, adjusted by `adjust` (dependencies,
    /// policies); a problem in `nested` is reported by this builder's [`build`](Self::build).
    pub fn nested(
        mut self,
        nested: SupervisorSpecBuilder,
        adjust: impl FnOnce(ChildSpec) -> ChildSpec,
    ) -> Self {
        match nested.build() {
            Ok(spec) => self.children.push(adjust(ChildSpec::supervisor(spec))),
            Err(error) => {
                self.nested_error.get_or_insert(error);
            }
        }
        self
    }

    /// Adds several children.
    pub fn children(mut self, children: impl IntoIterator<Item = ChildSpec>) -> Self {
        self.children.extend(children);
        self
    }

    /// Validates the spec: names non-empty, without `/` and unique among siblings,
    /// dependencies naming siblings and free of cycles, limits greater than zero, durations
    /// at most [`MAX_DURATION`](crate::MAX_DURATION), every child's backoff valid, no
    /// heartbeat limit on a supervisor child, significant children not
    /// [`RestartPolicy::Always`] and only under an [`AutoShutdown`] other than `Never` (as in
    /// OTP), nesting at most [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH)
    /// levels deep.
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`SpecError`] naming the supervisor and child.
    pub fn build(self) -> Result<SupervisorSpec, SpecError> {
        if let Some(error) = self.nested_error {
            return Err(error);
        }
        let supervisor = self.name.to_string();
        if self.name.is_empty() {
            return Err(SpecError::EmptyName { supervisor });
        }
        check_name(&self.name).map_err(|error| SpecError::Invalid {
            path: supervisor.clone(),
            error,
        })?;
        self.check_limits()?;
        let depth = 1 + self
            .children
            .iter()
            .filter_map(ChildSpec::nested)
            .map(|nested| nested.depth)
            .max()
            .unwrap_or(0);
        if depth > MAX_NESTING_DEPTH {
            return Err(SpecError::TooDeep {
                supervisor,
                depth,
                max: MAX_NESTING_DEPTH,
            });
        }
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(self.children.len());
        for (i, child) in self.children.iter().enumerate() {
            if child.name.is_empty() {
                return Err(SpecError::EmptyName { supervisor });
            }
            if index.insert(child.name(), i).is_some() {
                return Err(SpecError::DuplicateName {
                    supervisor,
                    name: child.name().to_owned(),
                });
            }
            let policy_checked = i
                .checked_sub(1)
                .is_some_and(|before| Arc::ptr_eq(&self.children[before].policy, &child.policy));
            check_child(&supervisor, self.auto_shutdown, child, policy_checked)?;
        }
        let mut dependencies = Vec::with_capacity(self.children.len());
        let mut requirements = Vec::with_capacity(self.children.len());
        for child in &self.children {
            requirements.push(
                child
                    .requirements()
                    .filter_map(|name| index.get(name).copied())
                    .collect::<Vec<usize>>(),
            );
            let mut deps = Vec::with_capacity(child.policy.dependencies.len());
            for dependency in child.dependencies() {
                let Some(&dep) = index.get(dependency) else {
                    let names = self.children.iter().map(ChildSpec::name);
                    return Err(SpecError::UnknownDependency {
                        supervisor,
                        child: child.name().to_owned(),
                        dependency: dependency.to_owned(),
                        suggestion: crate::error::closest(dependency, names).map(str::to_owned),
                    });
                };
                if !deps.contains(&dep) {
                    deps.push(dep);
                }
            }
            dependencies.push(deps);
        }
        let order = startup_order(&dependencies).map_err(|cycle| SpecError::DependencyCycle {
            supervisor: supervisor.clone(),
            cycle: cycle
                .iter()
                .map(|&i| self.children[i].name().to_owned())
                .collect(),
        })?;
        check_one_consumer_each(&supervisor, &self.children)?;
        let producers = super::drain::producers(&self.children);
        let layout = Layout::new(dependencies, &requirements, order).with_drains(producers);
        super::drain::check_shutdown_order(&supervisor, &self.children, &layout)?;
        Ok(SupervisorSpec {
            name: self.name,
            strategy: self.strategy,
            intensity: self.intensity,
            shutdown_timeout: self.shutdown_timeout,
            abort_wait: self.abort_wait,
            auto_shutdown: self.auto_shutdown,
            children: self.children,
            layout: Arc::new(layout),
            depth,
            max_dynamic_children: self.max_dynamic_children,
            pool: self.pool,
        })
    }

    fn check_limits(&self) -> Result<(), SpecError> {
        let invalid = |error| SpecError::Invalid {
            path: self.name.to_string(),
            error,
        };
        if let Some(intensity) = self.intensity {
            check_count(
                "intensity.max_restarts",
                intensity.max_restarts,
                "no intensity limit at all",
            )
            .map_err(invalid)?;
            check_positive_duration("intensity.within", intensity.within).map_err(invalid)?;
        }
        check_dynamic_limit(self.max_dynamic_children).map_err(invalid)?;
        check_positive_duration("abort_wait", self.abort_wait).map_err(invalid)?;
        check_positive_duration("shutdown_timeout", self.shutdown_timeout).map_err(invalid)
    }
}

/// The checks of a child added at run time to `supervisor` (a path): those of a declared
/// child, the name's emptiness included.
pub(crate) fn check_added_child(
    supervisor: &str,
    auto_shutdown: AutoShutdown,
    child: &ChildSpec,
) -> Result<(), SpecError> {
    if child.name.is_empty() {
        return Err(SpecError::EmptyName {
            supervisor: supervisor.to_owned(),
        });
    }
    check_child(supervisor, auto_shutdown, child, false)
}

/// The checks of one child that need no siblings. The durations and backoff of a policy
/// checked already (shared with the child before: every child of one `#[service]`) are not
/// checked again.
fn check_child(
    supervisor: &str,
    auto_shutdown: AutoShutdown,
    child: &ChildSpec,
    policy_checked: bool,
) -> Result<(), SpecError> {
    let invalid = |error| SpecError::Invalid {
        path: format!("{supervisor}/{}", child.name),
        error,
    };
    check_name(&child.name).map_err(invalid)?;
    if let Some(nested) = child.nested() {
        check_dynamic_limit(nested.max_dynamic_children).map_err(invalid)?;
    }
    if child.policy.significant && auto_shutdown == AutoShutdown::Never {
        // OTP rejects the combination: such a child could never end its supervisor.
        return Err(invalid(ConfigError::new(
            "significant",
            "true under auto_shutdown = never",
            "auto_shutdown = any_significant or all_significant on its supervisor, or a child that is not significant",
        )));
    }
    if !policy_checked {
        check_policy(&child.policy).map_err(invalid)?;
    }
    if let Some(stale_after) = child.policy.heartbeat_timeout
        && child.kind() == ChildKind::Supervisor
    {
        return Err(invalid(ConfigError::new(
            "heartbeat.stale_after",
            format!("{stale_after:?}"),
            "no heartbeat limit on a supervisor child: a supervisor never heartbeats (its own children may have one)",
        )));
    }
    if child.policy.significant && child.policy.restart == RestartPolicy::Always {
        return Err(invalid(ConfigError::new(
            "significant",
            "true with restart = always",
            "restart = on_failure or never: an always-restarted child never terminates normally",
        )));
    }
    Ok(())
}

/// The checks of a policy's own values.
fn check_policy(policy: &ChildPolicy) -> Result<(), ConfigError> {
    policy.backoff.validate()?;
    if let Readiness::Explicit { timeout } = policy.readiness {
        check_positive_duration("readiness.timeout", timeout)?;
    }
    if let Some(ShutdownPolicy::Timeout(timeout)) = policy.shutdown {
        if timeout.is_zero() {
            return Err(ConfigError::new(
                "shutdown",
                "Timeout(0ns)",
                "a timeout greater than zero, or ShutdownPolicy::BrutalKill",
            ));
        }
        check_duration("shutdown", timeout)?;
    }
    if let Some(stale_after) = policy.heartbeat_timeout {
        check_positive_duration("heartbeat.stale_after", stale_after)?;
    }
    Ok(())
}
