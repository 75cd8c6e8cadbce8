//! Model-based randomized test of the core: random trees, random faults and (in the second
//! test) random operator commands (restart, pause, resume, quarantine, release, remove, and
//! children added at run time) on the paused clock, compared after every step with a pure
//! reference model of the semantics: every state, counter and command answer.
//!
//! Each case is generated from a seed (printed on failure; rerun one with `SOAK_SEED=n`).
//! `SOAK_CASES=n` sets how many cases run (default 300, a few seconds); the long soak is e.g.
//! `SOAK_CASES=20000 cargo test --release --test model_soak`.
//!
//! The model works at settled points: every delay of the generated trees (backoff, readiness,
//! drains, kill deadlines, heartbeats) is far below the step length, so after each step every
//! child is running, waiting for a dependency, or terminated, and the model only needs the
//! order of events, not their exact instants. Windows (intensity, breakers) are a whole number
//! of steps plus half a step, so which failures they count does not depend on those delays
//! either.
//!
//! Blocking workers are generated only for the multi-thread variant at the end: a running
//! blocking task holds Tokio's paused clock, so on it the driver could not advance time.

mod common;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Rng, env_u64};
use supervisor::error::SupervisorError;
use supervisor::prelude::*;
use supervisor::{CircuitBreakerConfig, CommandError, OnOpen, ShutdownReport, TreeState};
use tokio::sync::Notify;

const STEP_MS: u64 = 2_000;

// ---------------------------------------------------------------------------------------------
// Generated trees.

#[derive(Clone, Debug)]
struct GenSup {
    strategy: Strategy,
    /// Max restarts within `m` steps (plus half a step).
    intensity: Option<(u32, u64)>,
    auto_shutdown: AutoShutdown,
    /// How many children `add_child` may add at once.
    max_dynamic: usize,
    children: Vec<GenChild>,
}

#[derive(Clone, Debug)]
struct GenChild {
    name: String,
    path: String,
    restart: RestartPolicy,
    /// Failures within `m` steps (plus half a step) that open the breaker, and whether it
    /// then escalates.
    breaker: Option<(u32, u64, bool)>,
    /// Earlier siblings it starts after (`after` or `requires`).
    deps: Vec<usize>,
    /// The subset it `requires`.
    requires: Vec<usize>,
    explicit_ready: bool,
    heartbeat: bool,
    blocking: bool,
    significant: bool,
    drain_ms: u64,
    timeout_ms: u64,
    nested: Option<GenSup>,
}

struct GenLimits {
    max_depth: usize,
    blocking: bool,
}

fn gen_sup(rng: &mut Rng, path: &str, depth: usize, limits: &GenLimits) -> GenSup {
    let strategy = rng.pick(&[
        Strategy::OneForOne,
        Strategy::OneForAll,
        Strategy::RestForOne,
    ]);
    let intensity = rng
        .chance(70)
        .then(|| (1 + rng.below(4) as u32, 1 + rng.below(3)));
    let auto_shutdown = match rng.below(10) {
        0 => AutoShutdown::AnySignificant,
        1 => AutoShutdown::AllSignificant,
        _ => AutoShutdown::Never,
    };
    let count = 1 + rng.below(5) as usize;
    let mut children = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("c{i}");
        let child_path = format!("{path}/{name}");
        let nested = (depth < limits.max_depth && rng.chance(20))
            .then(|| gen_sup(rng, &child_path, depth + 1, limits));
        let restart = match rng.below(10) {
            0..=4 => RestartPolicy::OnFailure,
            5..=7 => RestartPolicy::Always,
            _ => RestartPolicy::Never,
        };
        let mut deps = Vec::new();
        if i > 0 && rng.chance(35) {
            deps.push(rng.below(i as u64) as usize);
            if i > 1 && rng.chance(30) {
                let other = rng.below(i as u64) as usize;
                if !deps.contains(&other) {
                    deps.push(other);
                }
            }
        }
        let requires: Vec<usize> = deps.iter().copied().filter(|_| rng.chance(50)).collect();
        let worker = nested.is_none();
        let timeout_ms = rng.pick(&[20, 40]);
        children.push(GenChild {
            name,
            path: child_path,
            restart,
            breaker: rng
                .chance(50)
                .then(|| (1 + rng.below(4) as u32, 1 + rng.below(3), rng.chance(20))),
            deps,
            requires,
            explicit_ready: worker && rng.chance(25),
            heartbeat: worker && rng.chance(25),
            blocking: worker && limits.blocking && rng.chance(30),
            significant: auto_shutdown != AutoShutdown::Never
                && restart != RestartPolicy::Always
                && rng.chance(50),
            drain_ms: if worker {
                rng.pick(&[0, 0, 10, timeout_ms * 2])
            } else {
                0
            },
            timeout_ms,
            nested,
        });
    }
    GenSup {
        strategy,
        intensity,
        auto_shutdown,
        max_dynamic: rng.pick(&[0, 1, 2]),
        children,
    }
}

/// A worker to add at run time: no dependencies, not significant, no readiness or heartbeat.
fn gen_dynamic(rng: &mut Rng, parent: &str, name: String) -> GenChild {
    GenChild {
        path: format!("{parent}/{name}"),
        name,
        restart: rng.pick(&[
            RestartPolicy::Always,
            RestartPolicy::OnFailure,
            RestartPolicy::Never,
        ]),
        breaker: rng
            .chance(50)
            .then(|| (1 + rng.below(4) as u32, 1 + rng.below(3), false)),
        deps: Vec::new(),
        requires: Vec::new(),
        explicit_ready: false,
        heartbeat: false,
        blocking: false,
        significant: false,
        drain_ms: rng.pick(&[0, 10]),
        timeout_ms: 40,
        nested: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The services: each worker takes commands from the test and records its attempts.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Fail,
    Panic,
    Hang,
    Exit,
}

#[derive(Default)]
struct Control {
    faults: Mutex<VecDeque<Fault>>,
    wake: Notify,
    live: AtomicU32,
    started: AtomicU64,
    ended: AtomicU64,
    overlapped: AtomicBool,
}

impl Control {
    fn push(&self, fault: Fault) {
        self.faults.lock().unwrap().push_back(fault);
        self.wake.notify_one();
    }
    fn pop(&self) -> Option<Fault> {
        self.faults.lock().unwrap().pop_front()
    }
    fn enter(self: &Arc<Self>) -> AttemptGuard {
        if self.live.fetch_add(1, Ordering::SeqCst) > 0 {
            self.overlapped.store(true, Ordering::SeqCst);
        }
        self.started.fetch_add(1, Ordering::SeqCst);
        AttemptGuard(Arc::clone(self))
    }
}

struct AttemptGuard(Arc<Control>);

impl Drop for AttemptGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
        self.0.ended.fetch_add(1, Ordering::SeqCst);
    }
}

const INJECTED: &str = "injected panic";

async fn run_async_worker(
    ctx: TaskContext,
    control: Arc<Control>,
    child: Arc<GenChild>,
) -> Result<(), ServiceError> {
    let _attempt = control.enter();
    if child.explicit_ready {
        tokio::time::sleep(Duration::from_millis(5)).await;
        ctx.ready();
    }
    let mut hanging = false;
    loop {
        if child.heartbeat && !hanging {
            ctx.heartbeat();
        }
        tokio::select! {
            biased;
            _ = ctx.cancelled() => {
                tokio::time::sleep(Duration::from_millis(child.drain_ms)).await;
                return Ok(());
            }
            _ = control.wake.notified() => match control.pop() {
                Some(Fault::Fail) => return Err(ServiceError::from("injected failure")),
                Some(Fault::Panic) => std::panic::panic_any(INJECTED),
                Some(Fault::Exit) => return Ok(()),
                Some(Fault::Hang) => hanging = true,
                None => {}
            },
            _ = tokio::time::sleep(Duration::from_millis(20)), if child.heartbeat => {}
        }
    }
}

fn run_blocking_worker(
    ctx: TaskContext,
    control: Arc<Control>,
    child: Arc<GenChild>,
) -> Result<(), ServiceError> {
    let _attempt = control.enter();
    if child.explicit_ready {
        ctx.ready();
    }
    let mut hanging = false;
    loop {
        if child.heartbeat && !hanging {
            ctx.heartbeat();
        }
        if ctx.is_cancelled() {
            std::thread::sleep(Duration::from_millis(child.drain_ms.min(5)));
            return Ok(());
        }
        match control.pop() {
            Some(Fault::Fail) => return Err(ServiceError::from("injected failure")),
            Some(Fault::Panic) => std::panic::panic_any(INJECTED),
            Some(Fault::Exit) => return Ok(()),
            Some(Fault::Hang) => hanging = true,
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

type Registry = HashMap<String, Arc<Control>>;

fn window(steps: u64, step_ms: u64) -> Duration {
    Duration::from_millis(steps * step_ms + step_ms / 2)
}

fn build_sup(name: &str, sup: &GenSup, registry: &mut Registry, step_ms: u64) -> SupervisorSpec {
    let mut builder = SupervisorSpec::builder(name.to_owned())
        .strategy(sup.strategy)
        .auto_shutdown(sup.auto_shutdown)
        .shutdown_timeout(Duration::from_millis(100));
    builder = match sup.intensity {
        Some((max, steps)) => builder.intensity(max, window(steps, step_ms)),
        None => builder.without_intensity_limit(),
    };
    for (position, child) in sup.children.iter().enumerate() {
        let spec = match &child.nested {
            Some(nested) => {
                ChildSpec::supervisor(build_sup(&child.name, nested, registry, step_ms))
            }
            None => build_worker(child, registry),
        };
        let names = |indices: &[usize]| -> Vec<String> {
            indices
                .iter()
                .map(|&d| sup.children[d].name.clone())
                .collect()
        };
        builder = builder.child(
            with_policies(spec, child, position, step_ms)
                .after(names(&child.deps))
                .requires(names(&child.requires)),
        );
    }
    builder
        .max_dynamic_children(sup.max_dynamic)
        .build()
        .expect("generated specs are valid")
}

/// A worker's spec, its control registered under its path.
fn build_worker(child: &GenChild, registry: &mut Registry) -> ChildSpec {
    let control = Arc::new(Control::default());
    registry.insert(child.path.clone(), Arc::clone(&control));
    let shared = Arc::new(child.clone());
    let mut spec = if child.blocking {
        blocking_fn(child.name.clone(), move |ctx| {
            run_blocking_worker(ctx, Arc::clone(&control), Arc::clone(&shared))
        })
    } else {
        service_fn(child.name.clone(), move |ctx| {
            run_async_worker(ctx, Arc::clone(&control), Arc::clone(&shared))
        })
    };
    if child.explicit_ready {
        spec = spec.with_readiness(Readiness::Explicit {
            timeout: Duration::from_millis(50),
        });
    }
    if child.heartbeat {
        spec = spec.with_heartbeat_timeout(Duration::from_millis(60));
    }
    spec.with_shutdown(ShutdownPolicy::Timeout(Duration::from_millis(
        child.timeout_ms,
    )))
}

/// Restart, backoff, breaker and significance, as generated.
fn with_policies(spec: ChildSpec, child: &GenChild, position: usize, step_ms: u64) -> ChildSpec {
    // Every fourth child restarts at once (no delay: the path that needs no restart group
    // when it restarts alone).
    let base = match position % 4 {
        3 => Duration::ZERO,
        _ => Duration::from_millis(5),
    };
    let mut backoff = BackoffConfig::new(base, Duration::from_millis(40))
        .with_jitter([Jitter::None, Jitter::Full, Jitter::Equal][position % 3]);
    backoff = match child.breaker {
        Some((failures, steps, escalate)) => {
            let on_open = if escalate {
                OnOpen::Escalate
            } else {
                OnOpen::Terminate
            };
            backoff.with_circuit_breaker_config(
                CircuitBreakerConfig::new(failures, window(steps, step_ms)).with_on_open(on_open),
            )
        }
        None => backoff.without_circuit_breaker(),
    };
    spec.with_restart(child.restart)
        .with_backoff(backoff)
        .significant(child.significant)
}

// ---------------------------------------------------------------------------------------------
// The reference model: settled states only, one event at a time.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Waiting,
    Running,
    Terminated,
    Paused,
    Quarantined,
}

impl Phase {
    fn of(phase: ServicePhase) -> Option<Phase> {
        match phase {
            ServicePhase::Waiting => Some(Phase::Waiting),
            ServicePhase::Running => Some(Phase::Running),
            ServicePhase::Terminated => Some(Phase::Terminated),
            ServicePhase::Paused => Some(Phase::Paused),
            ServicePhase::Quarantined => Some(Phase::Quarantined),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
struct MChild {
    phase: Phase,
    attempt: u32,
    breaker: Vec<u64>,
    /// Terminated because a child it `requires` terminated.
    unbound: bool,
    /// Removed by `remove_child` (then released).
    removed: bool,
    /// A nested supervisor's current (or last) run.
    run: Option<MNode>,
}

#[derive(Clone, Debug)]
struct MNode {
    /// The declared children, then those added at run time, in the order they were added.
    children: Vec<MChild>,
    /// The specs of those added at run time.
    extra: Vec<GenChild>,
    intensity: Vec<u64>,
}

/// The node's spec with the children added at run time, as the functions below index it.
fn with_added(sup: &GenSup, node: &MNode) -> GenSup {
    let mut full = sup.clone();
    // Given the declared spec, or one that has them already.
    if full.children.len() < node.children.len() {
        full.children.extend(node.extra.iter().cloned());
    }
    assert_eq!(full.children.len(), node.children.len());
    full
}

fn new_child(run: Option<MNode>) -> MChild {
    MChild {
        phase: Phase::Waiting,
        attempt: 0,
        breaker: Vec::new(),
        unbound: false,
        removed: false,
        run,
    }
}

/// How a node's run ended, for its parent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum NodeEnd {
    Escalated,
    AutoShutdown,
}

#[derive(Default, Debug, Clone, PartialEq)]
struct Counters {
    spawned: u64,
    restarts: u64,
    breaker_trips: u64,
}

struct Model<'a> {
    root: &'a GenSup,
    node: MNode,
    counters: Counters,
    /// Set once the root's run ended by itself.
    ended: Option<NodeEnd>,
    /// The report the root's end produced: (path, outcome).
    final_report: Option<Vec<(String, StopOutcome)>>,
}

fn fresh(sup: &GenSup) -> MNode {
    MNode {
        children: sup
            .children
            .iter()
            .map(|c| new_child(c.nested.as_ref().map(fresh)))
            .collect(),
        extra: Vec::new(),
        intensity: Vec::new(),
    }
}

fn count_within(history: &[u64], now: u64, steps: u64) -> usize {
    history.iter().filter(|&&t| now - t <= steps).count()
}

impl<'a> Model<'a> {
    fn new(root: &'a GenSup) -> Self {
        let mut model = Model {
            root,
            node: fresh(root),
            counters: Counters::default(),
            ended: None,
            final_report: None,
        };
        let mut counters = Counters::default();
        start_node(root, &mut model.node, &mut counters);
        model.counters = counters;
        model
    }

    /// Every child's (path, phase, attempt), depth first.
    fn states(&self) -> Vec<(String, Phase, u32)> {
        let mut out = Vec::new();
        collect_states(self.root, &self.node, &mut out);
        out
    }

    /// The worker at `path` exits with `fault` during step `now`.
    fn inject(&mut self, path: &[usize], fault: Fault, now: u64) {
        let failed = fault != Fault::Exit;
        let mut counters = std::mem::take(&mut self.counters);
        // Walk down to the worker's node, then handle the exit and any node end upwards.
        if let Some(end) = exit_at(self.root, &mut self.node, path, failed, now, &mut counters) {
            // The root ends: the outcomes of its own shutdown, then everything stops.
            self.final_report = Some(report_of_run(self.root, &self.node, true));
            stop_node(&mut self.node);
            self.ended = Some(end);
        }
        self.counters = counters;
        self.release();
    }

    /// An operator command on the child at `path`, at a settled point: whether it changed
    /// anything, or why it is refused.
    fn command(&mut self, path: &[usize], op: Op) -> Result<bool, Refusal> {
        let mut counters = std::mem::take(&mut self.counters);
        let result = command_at(self.root, &mut self.node, path, op, &mut counters);
        self.counters = counters;
        self.release();
        result
    }

    /// `add_child` of `child` to the supervisor at `path` (empty: the root).
    fn add(&mut self, path: &[usize], child: GenChild) -> Result<(), Refusal> {
        let mut counters = std::mem::take(&mut self.counters);
        let result = add_at(self.root, &mut self.node, path, child, &mut counters);
        self.counters = counters;
        self.release();
        result
    }

    /// What the tree releases after an event, while the root runs.
    fn release(&mut self) {
        if self.ended.is_none() {
            release_ended(self.root, &mut self.node);
        }
    }

    /// Every supervisor (the root as `[]`) and child, by index path, with its tree path and
    /// whether it is a supervisor; children added at run time included.
    fn members(&self) -> Vec<(Vec<usize>, String, bool)> {
        let mut out = vec![(Vec::new(), "root".to_owned(), true)];
        collect_members(self.root, &self.node, &[], &mut out);
        out
    }

    /// Outcomes of a shutdown requested now, at a settled point.
    fn shutdown_report(&self) -> Vec<(String, StopOutcome)> {
        report_of_run(self.root, &self.node, true)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Restart,
    Pause,
    Resume,
    Quarantine,
    Release,
    Remove,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Refusal {
    /// A supervisor on the way is not running.
    NotRunning,
    /// Not in this phase (or, for `remove_child`, a declared child).
    NotAllowed,
    /// `add_child` to a supervisor without `max_dynamic_children`.
    NoDynamicChildren,
    /// `add_child` past `max_dynamic_children`.
    TooMany,
}

fn command_at(
    sup: &GenSup,
    node: &mut MNode,
    path: &[usize],
    op: Op,
    counters: &mut Counters,
) -> Result<bool, Refusal> {
    let full = with_added(sup, node);
    let sup = &full;
    let i = path[0];
    if path.len() > 1 {
        let nested = sup.children[i].nested.as_ref().expect("a supervisor");
        return match (node.children[i].phase, &mut node.children[i].run) {
            (Phase::Running, Some(run)) => command_at(nested, run, &path[1..], op, counters),
            _ => Err(Refusal::NotRunning),
        };
    }
    let phase = node.children[i].phase;
    if op == Op::Remove {
        // Only a child added at run time; stopped, terminated, then released.
        if i < node.children.len() - node.extra.len() {
            return Err(Refusal::NotAllowed);
        }
        stop_child(node, i);
        node.children[i].phase = Phase::Terminated;
        node.children[i].removed = true;
        return Ok(true);
    }
    match (op, phase) {
        (Op::Restart, Phase::Quarantined) | (Op::Pause, Phase::Terminated | Phase::Quarantined) => {
            return Err(Refusal::NotAllowed);
        }
        (Op::Restart, Phase::Waiting)
        | (Op::Pause, Phase::Paused)
        | (Op::Quarantine, Phase::Quarantined) => return Ok(false),
        (Op::Resume, other) if other != Phase::Paused => return Ok(false),
        (Op::Release, other) if other != Phase::Quarantined => return Ok(false),
        _ => {}
    }
    match op {
        // Not counted toward the intensity or the breaker.
        Op::Restart if phase == Phase::Running => restart_scope(sup, node, i, counters),
        Op::Restart if phase == Phase::Terminated => revive(node, i),
        Op::Restart | Op::Resume | Op::Release => node.children[i].phase = Phase::Waiting,
        Op::Pause => hold(sup, node, i, Phase::Paused),
        Op::Quarantine => hold(sup, node, i, Phase::Quarantined),
        Op::Remove => unreachable!("handled above"),
    }
    settle(sup, node, counters);
    Ok(true)
}

/// Pause or quarantine: the child stops and stays put; the running children that require
/// it, directly or not, stop and wait.
fn hold(sup: &GenSup, node: &mut MNode, i: usize, to: Phase) {
    let full = with_added(sup, node);
    let sup = &full;
    let mut bound = vec![false; sup.children.len()];
    bound[i] = true;
    for d in (i + 1)..sup.children.len() {
        if sup.children[d].requires.iter().any(|&r| bound[r]) {
            bound[d] = true;
            if node.children[d].phase == Phase::Running {
                stop_child(node, d);
                node.children[d].phase = Phase::Waiting;
            }
        }
    }
    stop_child(node, i);
    node.children[i].phase = to;
}

/// `add_child` to the supervisor at `path` (empty: this node): the child starts at once.
fn add_at(
    sup: &GenSup,
    node: &mut MNode,
    path: &[usize],
    child: GenChild,
    counters: &mut Counters,
) -> Result<(), Refusal> {
    if let Some((&i, rest)) = path.split_first() {
        let full = with_added(sup, node);
        let nested = full.children[i].nested.as_ref().expect("a supervisor");
        return match (node.children[i].phase, &mut node.children[i].run) {
            (Phase::Running, Some(run)) => add_at(nested, run, rest, child, counters),
            _ => Err(Refusal::NotRunning),
        };
    }
    if sup.max_dynamic == 0 {
        return Err(Refusal::NoDynamicChildren);
    }
    if node.extra.len() >= sup.max_dynamic {
        return Err(Refusal::TooMany);
    }
    node.extra.push(child);
    node.children.push(new_child(None));
    settle(sup, node, counters);
    Ok(())
}

/// Children added at run time that ended for good (temporary ones that terminated, removed
/// ones) are released, in every running node.
fn release_ended(sup: &GenSup, node: &mut MNode) {
    let declared = sup.children.len();
    let mut j = declared;
    while j < node.children.len() {
        let ended = node.children[j].phase == Phase::Terminated
            && (node.extra[j - declared].restart == RestartPolicy::Never
                || node.children[j].removed);
        if ended {
            node.children.remove(j);
            node.extra.remove(j - declared);
        } else {
            j += 1;
        }
    }
    for (spec, child) in sup.children.iter().zip(&mut node.children) {
        if let (Some(nested), Phase::Running, Some(run)) =
            (&spec.nested, child.phase, &mut child.run)
        {
            release_ended(nested, run);
        }
    }
}

fn collect_members(
    sup: &GenSup,
    node: &MNode,
    prefix: &[usize],
    out: &mut Vec<(Vec<usize>, String, bool)>,
) {
    let full = with_added(sup, node);
    for (i, (spec, child)) in full.children.iter().zip(&node.children).enumerate() {
        let mut path = prefix.to_vec();
        path.push(i);
        out.push((path.clone(), spec.path.clone(), spec.nested.is_some()));
        if let (Some(nested), Some(run)) = (&spec.nested, &child.run) {
            collect_members(nested, run, &path, out);
        }
    }
}

fn collect_states(sup: &GenSup, node: &MNode, out: &mut Vec<(String, Phase, u32)>) {
    let full = with_added(sup, node);
    let sup = &full;
    for (spec, child) in sup.children.iter().zip(&node.children) {
        out.push((spec.path.clone(), child.phase, child.attempt));
        if let (Some(nested), Some(run)) = (&spec.nested, &child.run) {
            collect_states(nested, run, out);
        }
    }
}

/// Outcomes for a node's children if its run were shut down now; `running` is false for a
/// node that is not running (every outcome is then `NotRunning`).
fn report_of_run(sup: &GenSup, node: &MNode, running: bool) -> Vec<(String, StopOutcome)> {
    let full = with_added(sup, node);
    let sup = &full;
    let mut out = Vec::new();
    for (spec, child) in sup.children.iter().zip(&node.children) {
        let live = running && child.phase == Phase::Running;
        let outcome = match (&spec.nested, live) {
            (_, false) => StopOutcome::NotRunning,
            (Some(_), true) => StopOutcome::Graceful,
            (None, true) if spec.drain_ms > spec.timeout_ms => StopOutcome::Aborted,
            (None, true) => StopOutcome::Graceful,
        };
        out.push((spec.path.clone(), outcome));
        if let (Some(nested), Some(run)) = (&spec.nested, &child.run) {
            out.extend(report_of_run(nested, run, live));
        }
    }
    out
}

/// Starts a node's run: each child in startup order (declaration order here, since
/// dependencies point to earlier siblings) if its dependencies are running.
fn start_node(sup: &GenSup, node: &mut MNode, counters: &mut Counters) {
    settle(sup, node, counters);
}

/// Starts every waiting child whose dependencies are running, lowest rank first, until none
/// is left (a child that starts may release later siblings).
fn settle(sup: &GenSup, node: &mut MNode, counters: &mut Counters) {
    let full = with_added(sup, node);
    let sup = &full;
    for i in 0..sup.children.len() {
        let spec = &sup.children[i];
        // A quarantined dependency no longer holds back a child ordered `after` it; one that
        // `requires` it still waits.
        let ready = |d: &usize| match node.children[*d].phase {
            Phase::Running => true,
            Phase::Quarantined => !spec.requires.contains(d),
            _ => false,
        };
        if node.children[i].phase == Phase::Waiting && spec.deps.iter().all(ready) {
            start_child(sup, node, i, counters);
        }
    }
}

fn start_child(sup: &GenSup, node: &mut MNode, i: usize, counters: &mut Counters) {
    let full = with_added(sup, node);
    let sup = &full;
    let child = &mut node.children[i];
    child.attempt += 1;
    child.phase = Phase::Running;
    counters.spawned += 1;
    if child.attempt > 1 {
        counters.restarts += 1;
    }
    if let Some(nested) = &sup.children[i].nested {
        let mut run = fresh(nested);
        start_node(nested, &mut run, counters);
        child.run = Some(run);
    }
    // Children stopped for good because a requirement terminated come back once none of
    // their requirements is terminated.
    for d in (i + 1)..sup.children.len() {
        let requires = &sup.children[d].requires;
        if requires.contains(&i)
            && node.children[d].phase == Phase::Terminated
            && node.children[d].unbound
            && requires
                .iter()
                .all(|&r| node.children[r].phase != Phase::Terminated)
        {
            revive(node, d);
        }
    }
}

/// A terminated child is due again, with a fresh breaker.
fn revive(node: &mut MNode, i: usize) {
    let child = &mut node.children[i];
    child.phase = Phase::Waiting;
    child.unbound = false;
    child.breaker.clear();
}

/// Stops a running child (with its restart scope, or at its supervisor's shutdown): a nested
/// supervisor's run stops every child of it.
fn stop_child(node: &mut MNode, i: usize) {
    if let Some(run) = &mut node.children[i].run {
        stop_node(run);
    }
}

fn stop_node(node: &mut MNode) {
    for child in &mut node.children {
        if child.phase == Phase::Running
            && let Some(run) = &mut child.run
        {
            stop_node(run);
        }
        child.phase = Phase::Terminated;
    }
}

/// Child `path[0]` of `node` (or, deeper, the worker at the end of `path`) exited. Returns how
/// `node`'s own run ended, if it did; the caller then stops it.
fn exit_at(
    sup: &GenSup,
    node: &mut MNode,
    path: &[usize],
    failed: bool,
    now: u64,
    counters: &mut Counters,
) -> Option<NodeEnd> {
    let full = with_added(sup, node);
    let sup = &full;
    let i = path[0];
    if path.len() > 1 {
        let nested = sup.children[i]
            .nested
            .as_ref()
            .expect("path through a supervisor");
        let run = node.children[i].run.as_mut().expect("a running supervisor");
        let end = exit_at(nested, run, &path[1..], failed, now, counters)?;
        stop_node(run);
        match end {
            NodeEnd::Escalated => child_exited(sup, node, i, true, now, counters),
            NodeEnd::AutoShutdown => child_exited(sup, node, i, false, now, counters),
        }
    } else {
        child_exited(sup, node, i, failed, now, counters)
    }
}

/// The restart decision for child `i` of `node`, which exited on its own.
fn child_exited(
    sup: &GenSup,
    node: &mut MNode,
    i: usize,
    failed: bool,
    now: u64,
    counters: &mut Counters,
) -> Option<NodeEnd> {
    let full = with_added(sup, node);
    let sup = &full;
    let spec = &sup.children[i];
    let restarts = match spec.restart {
        RestartPolicy::Always => true,
        RestartPolicy::OnFailure => failed,
        RestartPolicy::Never => false,
    };
    if !restarts {
        return terminate(sup, node, i, !failed);
    }
    if failed && let Some((limit, steps, escalate)) = spec.breaker {
        let history = &mut node.children[i].breaker;
        history.push(now);
        if count_within(history, now, steps) >= limit as usize {
            counters.breaker_trips += 1;
            if escalate {
                node.children[i].phase = Phase::Terminated;
                return Some(NodeEnd::Escalated);
            }
            return terminate(sup, node, i, false);
        }
    }
    if let Some((max, steps)) = sup.intensity {
        node.intensity.push(now);
        if count_within(&node.intensity, now, steps) > max as usize {
            node.children[i].phase = Phase::Terminated;
            return Some(NodeEnd::Escalated);
        }
    }
    restart_scope(sup, node, i, counters);
    None
}

/// Child `i` (exited, or to be stopped by a `restart_child`) restarts with its strategy's
/// scope and the children bound to it.
fn restart_scope(sup: &GenSup, node: &mut MNode, i: usize, counters: &mut Counters) {
    let full = with_added(sup, node);
    let sup = &full;
    let n = sup.children.len();
    let mut in_scope: Vec<bool> = match sup.strategy {
        Strategy::OneForOne => (0..n).map(|j| j == i).collect(),
        Strategy::OneForAll => vec![true; n],
        Strategy::RestForOne => (0..n).map(|j| j >= i).collect(),
    };
    // Children bound through `requires`, transitively (dependencies point backwards, so one
    // forward pass suffices); `after` orders only.
    for j in 0..n {
        if !in_scope[j] && sup.children[j].requires.iter().any(|&d| in_scope[d]) {
            in_scope[j] = true;
        }
    }
    // Running members are stopped and wait to start again (a temporary one terminates,
    // which is not its own exit: no auto-shutdown); waiting ones keep waiting; terminated ones
    // stay terminated. Then everything due starts in startup order.
    let mut bystanders = Vec::new();
    for j in (0..n).filter(|&j| in_scope[j] && j != i) {
        if node.children[j].phase == Phase::Running {
            stop_child(node, j);
            node.children[j].phase = match sup.children[j].restart {
                RestartPolicy::Never => {
                    bystanders.push(j);
                    node.children[j].unbound = false;
                    Phase::Terminated
                }
                _ => Phase::Waiting,
            };
        }
    }
    // The child itself (stopped, if a command restarts it) starts again, even if temporary.
    stop_child(node, i);
    node.children[i].phase = Phase::Waiting;
    // A terminated bystander ends the children bound to it (the failed one included).
    for j in bystanders {
        let stopping = unbind(sup, node, j);
        finish_unbind(node, &stopping);
    }
    settle(sup, node, counters);
}

/// Child `i` ended for good on its own; significant children may end the node.
fn terminate(sup: &GenSup, node: &mut MNode, i: usize, normal: bool) -> Option<NodeEnd> {
    let full = with_added(sup, node);
    let sup = &full;
    node.children[i].phase = Phase::Terminated;
    node.children[i].unbound = false;
    // Children bound to it end too: waiting ones at once, running ones once stopped, which is
    // after the auto-shutdown check (they are still stopping then).
    let stopping = unbind(sup, node, i);
    let spec = &sup.children[i];
    let counts = spec.significant
        && match spec.restart {
            RestartPolicy::Never => true,
            RestartPolicy::OnFailure => normal,
            RestartPolicy::Always => false,
        };
    let ends = counts
        && match sup.auto_shutdown {
            AutoShutdown::Never => false,
            AutoShutdown::AnySignificant => true,
            AutoShutdown::AllSignificant => sup
                .children
                .iter()
                .zip(&node.children)
                .all(|(s, c)| !s.significant || c.phase == Phase::Terminated),
        };
    if ends {
        return Some(NodeEnd::AutoShutdown);
    }
    finish_unbind(node, &stopping);
    None
}

/// Children bound to `i` through `requires`, transitively: waiting ones terminate at once;
/// the running ones are returned, to be stopped.
fn unbind(sup: &GenSup, node: &mut MNode, i: usize) -> Vec<usize> {
    let full = with_added(sup, node);
    let sup = &full;
    let mut pending = vec![i];
    let mut stopping = Vec::new();
    while let Some(x) = pending.pop() {
        for d in (0..sup.children.len()).filter(|&d| sup.children[d].requires.contains(&x)) {
            match node.children[d].phase {
                Phase::Running if !stopping.contains(&d) => {
                    stopping.push(d);
                    pending.push(d);
                }
                Phase::Waiting => {
                    node.children[d].phase = Phase::Terminated;
                    node.children[d].unbound = true;
                    pending.push(d);
                }
                _ => {}
            }
        }
    }
    stopping
}

fn finish_unbind(node: &mut MNode, stopping: &[usize]) {
    for &d in stopping {
        stop_child(node, d);
        node.children[d].phase = Phase::Terminated;
        node.children[d].unbound = true;
    }
}

/// Running workers, by index path from the root, with their tree path.
fn running_workers(sup: &GenSup, node: &MNode) -> Vec<(Vec<usize>, String, bool)> {
    let full = with_added(sup, node);
    let sup = &full;
    let mut out = Vec::new();
    for (i, (spec, child)) in sup.children.iter().zip(&node.children).enumerate() {
        if child.phase != Phase::Running {
            continue;
        }
        match (&spec.nested, &child.run) {
            (Some(nested), Some(run)) => {
                for (mut path, p, hb) in running_workers(nested, run) {
                    path.insert(0, i);
                    out.push((path, p, hb));
                }
            }
            _ => out.push((vec![i], spec.path.clone(), spec.heartbeat)),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The driver.

/// Sends `op` for `path` to the tree and checks the answer against the model's.
async fn send_command(
    tree: &SupervisorHandle,
    path: &str,
    op: Op,
    expected: Result<bool, Refusal>,
    seed: u64,
) {
    let (by, why) = ("soak", "random command");
    let result = match op {
        Op::Restart => tree.restart_child(path, by, why).await,
        Op::Pause => tree.pause_child(path, by, why).await,
        Op::Resume => tree.resume_child(path, by, why).await,
        Op::Quarantine => tree.quarantine_child(path, by, why).await,
        Op::Release => tree.release_child(path, by, why).await,
        Op::Remove => tree.remove_child(path, by, why).await,
    };
    match (expected, &result) {
        (Ok(changed), Ok(receipt)) if receipt.changed == changed => {}
        (Err(Refusal::NotAllowed), Err(CommandError::NotAllowed { .. }))
        | (Err(Refusal::NotRunning), Err(CommandError::SupervisorNotRunning { .. })) => {}
        _ => panic!("seed {seed}: {op:?} {path}: expected {expected:?}, got {result:?}"),
    }
}

fn real_states(state: &TreeState) -> Vec<(String, Option<Phase>, u32)> {
    state
        .iter()
        .map(|c| (c.path.clone(), Phase::of(c.phase), c.attempt))
        .collect()
}

fn entries(report: &ShutdownReport) -> Vec<(String, StopOutcome)> {
    report
        .services
        .iter()
        .map(|s| (s.path.clone(), s.outcome))
        .collect()
}

fn all_paths(sup: &GenSup, out: &mut Vec<String>) {
    for child in &sup.children {
        out.push(child.path.clone());
        if let Some(nested) = &child.nested {
            all_paths(nested, out);
        }
    }
}

fn silence_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&INJECTED) {
                default(info);
            }
        }));
    });
}

/// One case: a random tree, then a random fault or (`commands_percent` of the steps) operator
/// command per step.
async fn run_case(seed: u64, commands_percent: u64) {
    let mut rng = Rng::new(seed);
    let limits = GenLimits {
        max_depth: 3,
        blocking: false,
    };
    let root = gen_sup(&mut rng, "root", 1, &limits);
    let mut registry = Registry::new();
    let spec = build_sup("root", &root, &mut registry, STEP_MS);
    let baseline = common::alive_tasks();
    let config = common::test_config().with_rng_seed(seed);
    let tree = Supervisor::start_with_config(spec, config).await.unwrap();
    let mut model = Model::new(&root);
    common::run_for(STEP_MS).await; // the first starts settle (readiness)
    let steps = 4 + rng.below(12);
    let mut step = 0;
    let mut shut_early = None;
    let mut added = Vec::new();
    while step < steps && model.ended.is_none() {
        step += 1;
        let workers = running_workers(&root, &model.node);
        if workers.is_empty() && commands_percent == 0 {
            break;
        }
        let command = workers.is_empty() || (commands_percent > 0 && rng.chance(commands_percent));
        let what = if command && rng.chance(25) {
            // A worker added to any supervisor, running or not, within its limit or not.
            let supervisors: Vec<_> = model.members().into_iter().filter(|m| m.2).collect();
            let (path, tree_path, _) =
                supervisors[rng.below(supervisors.len() as u64) as usize].clone();
            let child = gen_dynamic(&mut rng, &tree_path, format!("d{}", added.len()));
            let spec = with_policies(
                build_worker(&child, &mut registry),
                &child,
                added.len(),
                STEP_MS,
            );
            added.push(child.path.clone());
            let expected = model.add(&path, child.clone());
            let result = tree.add_child(&tree_path, spec, "soak", "random add").await;
            match (expected, &result) {
                (Ok(()), Ok(receipt)) if receipt.changed && receipt.path == child.path => {}
                (Err(Refusal::NotRunning), Err(CommandError::SupervisorNotRunning { .. }))
                | (
                    Err(Refusal::NoDynamicChildren),
                    Err(CommandError::DynamicChildrenNotAllowed { .. }),
                )
                | (Err(Refusal::TooMany), Err(CommandError::TooManyChildren { .. })) => {}
                _ => panic!(
                    "seed {seed}: add {} to {tree_path}: expected {expected:?}, got {result:?}",
                    child.name
                ),
            }
            format!("add {} to {tree_path}", child.name)
        } else if command {
            // An operator command on any child, reachable or not.
            let children: Vec<_> = model.members().into_iter().skip(1).collect();
            let (path, tree_path, _) = children[rng.below(children.len() as u64) as usize].clone();
            let op = rng.pick(&[
                Op::Restart,
                Op::Restart,
                Op::Pause,
                Op::Pause,
                Op::Resume,
                Op::Quarantine,
                Op::Release,
                Op::Remove,
            ]);
            let expected = model.command(&path, op);
            send_command(&tree, &tree_path, op, expected, seed).await;
            format!("{op:?} at {tree_path}")
        } else {
            let (path, tree_path, heartbeat) =
                workers[rng.below(workers.len() as u64) as usize].clone();
            let mut fault = rng.pick(&[
                Fault::Fail,
                Fault::Fail,
                Fault::Panic,
                Fault::Exit,
                Fault::Hang,
            ]);
            if fault == Fault::Hang && !heartbeat {
                fault = Fault::Fail;
            }
            registry[&tree_path].push(fault);
            model.inject(&path, fault, step);
            format!("{fault:?} at {tree_path}")
        };
        if rng.chance(8) {
            // Shut down in the middle of whatever the fault or command set off.
            shut_early = Some(rng.below(150));
            break;
        }
        common::run_for(STEP_MS).await;
        let state = tree.current_state().await;
        assert_eq!(
            real_states(&state),
            model
                .states()
                .into_iter()
                .map(|(p, ph, a)| (
                    p,
                    Some(if model.ended.is_some() {
                        Phase::Terminated
                    } else {
                        ph
                    }),
                    a
                ))
                .collect::<Vec<_>>(),
            "seed {seed}: step {step}, {what}\nspec: {root:#?}"
        );
        let metrics = tree.metrics().snapshot();
        assert_eq!(
            (
                metrics.spawned_total,
                metrics.restarts_total,
                metrics.circuit_breaker_trips
            ),
            (
                model.counters.spawned,
                model.counters.restarts,
                model.counters.breaker_trips
            ),
            "seed {seed}: counters after step {step}"
        );
    }
    let mut expected_paths = Vec::new();
    all_paths(&root, &mut expected_paths);
    let report = match (model.ended, shut_early) {
        (Some(end), _) => {
            let result = tree.run_until_shutdown().await;
            match end {
                NodeEnd::Escalated => {
                    assert!(
                        matches!(result, Err(SupervisorError::Escalated(_))),
                        "seed {seed}: {result:?}"
                    );
                }
                NodeEnd::AutoShutdown => assert!(result.is_ok(), "seed {seed}: {result:?}"),
            }
            let report = tree.wait_for_drain().await;
            assert_eq!(
                entries(&report),
                model.final_report.clone().unwrap(),
                "seed {seed}: report of the tree's own end"
            );
            report
        }
        (None, Some(after_ms)) => {
            common::run_for(after_ms).await;
            tree.shutdown_tree("soak", "random moment").await
        }
        (None, None) => {
            let report = tree.shutdown_tree("soak", "end of case").await;
            assert_eq!(
                entries(&report),
                model.shutdown_report(),
                "seed {seed}: shutdown report\nspec: {root:#?}"
            );
            report
        }
    };
    // Every declared child is listed, in order; the others are children added at run time
    // (which of those a shutdown at a random moment finds depends on that moment).
    let (declared, others): (Vec<String>, Vec<String>) = report
        .services
        .iter()
        .map(|s| s.path.clone())
        .partition(|p| expected_paths.contains(p));
    assert_eq!(
        declared, expected_paths,
        "seed {seed}: the report lists every child"
    );
    assert!(
        others.iter().all(|p| added.contains(p)),
        "seed {seed}: {others:?} were never added"
    );
    let state = tree.current_state().await;
    assert!(
        state.iter().all(|c| c.phase == ServicePhase::Terminated),
        "seed {seed}: every child converged to terminated: {state}"
    );
    for (path, control) in &registry {
        assert!(
            !control.overlapped.load(Ordering::SeqCst),
            "seed {seed}: {path} overlapped"
        );
        assert_eq!(
            control.started.load(Ordering::SeqCst),
            control.ended.load(Ordering::SeqCst),
            "seed {seed}: every attempt of {path} ended exactly once"
        );
    }
    assert_eq!(tree.metrics().snapshot().active_services, 0, "seed {seed}");
    drop(tree);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(common::alive_tasks(), baseline, "seed {seed}: no task left");
}

/// Runs the seeds `SOAK_SEED` / `SOAK_CASES` choose, each on a fresh paused runtime.
fn soak(commands_percent: u64) {
    silence_injected_panics();
    for seed in common::seeds("SOAK_SEED", "SOAK_CASES", 300) {
        common::paused_runtime().block_on(run_case(seed, commands_percent));
    }
}

#[test]
fn random_trees_and_faults_match_the_model() {
    soak(0);
}

/// The same, with operator commands (restart, pause, resume, quarantine, release, remove)
/// and children added at run time between the faults: each answer (changed or not, refused)
/// and every state after it must match the model. `SOAK_CASES` and `SOAK_SEED` apply here
/// too.
#[test]
fn random_trees_faults_and_commands_match_the_model() {
    soak(40);
}

/// The same random trees with blocking workers, on a multi-thread runtime and the real clock:
/// timing is not exact there, so this checks the invariants only (every child converges, every
/// attempt ends exactly once, no two attempts of a child overlap, the report lists every child,
/// no task is left). `SOAK_MT_CASES=n` sets how many cases run (default 12).
#[test]
fn random_trees_on_a_multi_thread_runtime_keep_the_invariants() {
    silence_injected_panics();
    let step_ms = 40;
    for seed in 0..env_u64("SOAK_MT_CASES").unwrap_or(12) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut rng = Rng::new(seed ^ 0xA5A5);
            let limits = GenLimits {
                max_depth: 3,
                blocking: true,
            };
            let root = gen_sup(&mut rng, "root", 1, &limits);
            let mut registry = Registry::new();
            let spec = build_sup("root", &root, &mut registry, step_ms);
            let config = common::test_config().with_rng_seed(seed);
            let tree = Supervisor::start_with_config(spec, config).await.unwrap();
            let mut paths: Vec<String> = registry.keys().cloned().collect();
            paths.sort();
            for _ in 0..6 {
                if tree.is_shutting_down() {
                    break;
                }
                let path = &paths[rng.below(paths.len() as u64) as usize];
                let fault = rng.pick(&[Fault::Fail, Fault::Panic, Fault::Exit, Fault::Hang]);
                registry[path].push(fault);
                tokio::time::sleep(Duration::from_millis(step_ms)).await;
            }
            let report = tree.shutdown_tree("soak", "end of case").await;
            let mut expected = Vec::new();
            all_paths(&root, &mut expected);
            let listed: Vec<String> = report.services.iter().map(|s| s.path.clone()).collect();
            assert_eq!(
                listed, expected,
                "seed {seed}: the report lists every child"
            );
            let state = tree.current_state().await;
            assert!(
                state.iter().all(|c| c.phase == ServicePhase::Terminated),
                "seed {seed}: {state}"
            );
            assert_eq!(tree.metrics().snapshot().active_services, 0, "seed {seed}");
            // A detached blocking worker may still be on its thread: wait for it to see its
            // cancellation (bounded), then count.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while registry.values().any(|c| c.live.load(Ordering::SeqCst) > 0)
                && std::time::Instant::now() < deadline
            {
                tokio::task::yield_now().await;
                std::thread::yield_now();
            }
            for (path, control) in &registry {
                assert!(
                    !control.overlapped.load(Ordering::SeqCst),
                    "seed {seed}: {path} overlapped"
                );
                assert_eq!(
                    control.started.load(Ordering::SeqCst),
                    control.ended.load(Ordering::SeqCst),
                    "seed {seed}: every attempt of {path} ended exactly once"
                );
            }
        });
    }
}
