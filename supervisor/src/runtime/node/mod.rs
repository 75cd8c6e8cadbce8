//! The control loop of one supervisor node.
//!
//! Invariants: only this loop reads or writes its children's slots; every attempt is a task
//! that reports its exit to this loop's inbox exactly once, after its future was dropped
//! (panics and aborts included); a slot has a live task exactly when it is `Starting`,
//! `Running` or `Stopping`, and `live_tasks` counts those slots (changed only by `set_task`);
//! a child waiting to restart belongs to exactly one restart group, which is released once
//! its delay has passed and none of its members has a live task (derived from the slots, never
//! counted). The loop ends only after every task has reported, so no attempt outlives it (a
//! blocking worker that outstays its shutdown is detached and reported instead), and a node
//! dropped unfinished (its loop panicked) aborts whatever still runs. Nothing here recurses
//! per child or per dependency: starts go through a queue drained in startup order.

mod command;
mod dynamic;
mod exit;
mod slot;
mod start;
mod state;
mod stop;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::time::DelayQueue;

use super::record::{ChildRecord, NodeExit};
use super::tree::{EventSource, Names, NodeAnswer, NodeMessage, ShutdownCause, TreeShared, lock};
use crate::context::TaskContext;
use crate::error::Escalation;
use crate::model::{MAX_DURATION, ServicePhase, ShutdownPolicy};
use crate::observe::EventKind;
pub(crate) use crate::observe::Failure;
use crate::policy::{FailureWindow, seed_from_os};
use crate::slab::Slab;
use crate::spec::{ChildSpec, SupervisorSpec};
use slot::ChildSlot;
pub(crate) use slot::{LastExit, NO_BATCH, Stop, StopPurpose};

impl Drop for Node {
    /// A node dropped before its loop ended (it panicked, its own task was aborted, or its
    /// runtime shut down) takes its children's attempts with it, and cancels them too: a
    /// blocking worker cannot be aborted, and the runtime's drop waits for its thread.
    fn drop(&mut self) {
        for slot in &self.slots {
            if let Some(token) = &slot.token {
                token.cancel();
            }
            if let Some(task) = &slot.task {
                task.abort();
            }
        }
    }
}

/// What a vacant slot reports as its spec (never used for a decision: vacant slots are
/// skipped), shared by every node.
fn vacant_spec() -> &'static ChildSpec {
    static VACANT: std::sync::OnceLock<ChildSpec> = std::sync::OnceLock::new();
    VACANT.get_or_init(|| crate::spec::service_fn("", |_| async {}))
}

/// Everything a node needs to run.
pub(crate) struct NodeSetup {
    pub(crate) path: Arc<str>,
    pub(crate) spec: Arc<SupervisorSpec>,
    pub(crate) tree: Arc<TreeShared>,
    /// Cancelled to shut the node down.
    pub(crate) stop: CancellationToken,
    pub(crate) inbox: (UnboundedSender<NodeMessage>, UnboundedReceiver<NodeMessage>),
    pub(crate) rng_seed: Option<u64>,
    /// A nested node's own context, to report ready once its children have started.
    pub(crate) context: Option<TaskContext>,
    /// Cancelled when the node begins to shut down, whatever the cause.
    pub(crate) shutting_down: CancellationToken,
    /// Cancelled to abort whatever is still stopping (a second signal, or the parent killing
    /// this node): children are aborted, and the node still reconciles before it ends.
    pub(crate) abort: CancellationToken,
    /// Its children's names (see `Node::names`).
    pub(crate) names: Names,
    /// The correlation of what started this node (a nested one's restart), for its first
    /// starts.
    pub(crate) cause: Option<u64>,
}

/// Children waiting to restart together: started again once none of them has a live task and
/// the delay of the failure that caused the restart has passed.
struct RestartGroup {
    members: Vec<usize>,
    /// The correlation of the failure (or command) that made it.
    cause: Option<u64>,
    delay_passed: bool,
    timer: Option<tokio_util::time::delay_queue::Key>,
}

/// Children whose stops were issued together under the same limit: one kill timer for all
/// of them, however large the wave (a shutdown of 100k children sets one).
struct KillBatch {
    deadline: Instant,
    /// Each child with the attempt that was being stopped.
    members: Vec<(usize, u32)>,
}

#[derive(Debug, Clone, Copy)]
enum Due {
    Group(usize),
    /// The kill deadline of a batch of stops.
    Kill(usize),
    /// The abort wait of a batch of aborted workers.
    Detach(usize),
    Child {
        index: usize,
        attempt: u32,
        what: ChildDue,
    },
}

#[derive(Debug, Clone, Copy)]
enum ChildDue {
    ReadyDeadline,
    HeartbeatCheck,
    /// The kill deadline of a stop issued on its own (a wave shares a `Due::Kill`).
    Kill,
}

pub(crate) struct Node {
    path: Arc<str>,
    spec: Arc<SupervisorSpec>,
    /// Children added at run time, after the spec's: `None` where one was released (the slot
    /// is vacant, listed in `free`, and reused by the next addition).
    extra: Vec<Option<ChildSpec>>,
    free: Vec<usize>,
    /// Each live child's index by name (the root's is shared with its front door, which
    /// reserves names for `spawn_service`).
    names: Names,
    /// The last number a pool gave a child.
    pool_serial: u64,
    tree: Arc<TreeShared>,
    stop: CancellationToken,
    notify: UnboundedSender<NodeMessage>,
    inbox: UnboundedReceiver<NodeMessage>,
    context: Option<TaskContext>,
    shutting_down: CancellationToken,
    abort: CancellationToken,
    slots: Vec<ChildSlot>,
    groups: Slab<RestartGroup>,
    /// Kill deadlines by batch; the last one made takes the next stop with the same deadline.
    kills: Slab<KillBatch>,
    last_kill: Option<usize>,
    /// The deadlines of the abort-wait batches (see `detach_after`).
    detaches: Slab<Instant>,
    last_detach: Option<usize>,
    intensity: Option<FailureWindow>,
    /// How many slots hold a live task (see `set_task`).
    live_tasks: usize,
    timers: DelayQueue<Due>,
    rng: SmallRng,
    shutdown: Option<(ShutdownCause, Instant)>,
    aborting: bool,
    failure: Option<Escalation>,
    /// The correlation of what the loop is handling now, for its events, stops and groups.
    correlation: Option<u64>,
    /// Children due to be started, lowest startup rank first (see `try_start`).
    start_queue: BinaryHeap<Reverse<(usize, usize)>>,
    draining_starts: bool,
}

impl Node {
    pub(crate) fn new(setup: NodeSetup) -> Self {
        let NodeSetup {
            path,
            spec,
            tree,
            stop,
            inbox: (notify, inbox),
            rng_seed,
            context,
            shutting_down,
            abort,
            names,
            cause,
        } = setup;
        let mut node = Node {
            intensity: spec
                .intensity
                .map(|i| FailureWindow::new(i.max_restarts.saturating_add(1), i.within)),
            slots: Vec::with_capacity(spec.children.len()),
            path,
            spec,
            extra: Vec::new(),
            free: Vec::new(),
            names,
            pool_serial: 0,
            tree,
            stop,
            notify,
            inbox,
            context,
            shutting_down,
            abort,
            groups: Slab::default(),
            kills: Slab::default(),
            last_kill: None,
            detaches: Slab::default(),
            last_detach: None,
            live_tasks: 0,
            timers: DelayQueue::new(),
            rng: rng_seed.map_or_else(seed_from_os, SmallRng::seed_from_u64),
            shutdown: None,
            aborting: false,
            failure: None,
            start_queue: BinaryHeap::new(),
            draining_starts: false,
            correlation: cause,
        };
        let declared = node.spec.children.len();
        for index in 0..declared {
            let slot = node.new_slot(index);
            node.slots.push(slot);
        }
        // One lock and no rehashing for however many children there are.
        let mut names = lock(&node.names);
        names.reserve(declared);
        for (index, child) in node.spec.children.iter().enumerate() {
            names.insert(Arc::clone(&child.name), index);
        }
        drop(names);
        node
    }

    /// Supervises until shutdown (requested, or caused by a failure) has stopped every child.
    pub(crate) async fn run(mut self) -> NodeExit {
        self.start_initial();
        let stop = self.stop.clone();
        let abort = self.abort.clone();
        loop {
            if self.shutdown.is_some() && self.live_tasks == 0 {
                break;
            }
            self.correlation = None;
            tokio::select! {
                biased;
                _ = stop.cancelled(), if self.shutdown.is_none() => {
                    self.new_cause();
                    let parent = self.path.rsplit_once('/').map_or("parent", |(parent, _)| parent);
                    self.begin_shutdown(ShutdownCause {
                        requested_by: parent.to_owned(),
                        reason: "stopped by its parent".into(),
                    });
                }
                _ = abort.cancelled(), if self.shutdown.is_some() && !self.aborting => self.abort_all(),
                Some(message) = self.inbox.recv() => self.on_message(message),
                Some(expired) = poll_fn(|cx| self.timers.poll_expired(cx)), if !self.timers.is_empty() => {
                    let due = expired.into_inner();
                    self.correlation = match due {
                        Due::Group(group) => self.groups.get(group).and_then(|g| g.cause),
                        Due::Kill(_) | Due::Detach(_) => None,
                        Due::Child { index, .. } => self.slots.get(index).and_then(|s| s.cause),
                    };
                    self.on_due(due);
                }
            }
        }
        // Answer what came in meanwhile: queries, and children added just too late (recorded
        // as never started).
        while let Ok(message) = self.inbox.try_recv() {
            self.on_message(message);
        }
        self.finish()
    }

    fn on_message(&mut self, message: NodeMessage) {
        match message {
            NodeMessage::Spawn(spec) => {
                let index = self.add_dynamic(spec);
                if self.shutdown.is_some() {
                    self.terminate_unstarted(index);
                } else {
                    self.try_start(index);
                }
            }
            NodeMessage::Ready {
                index,
                attempt,
                child,
            } => {
                let current = self
                    .slots
                    .get(index)
                    .filter(|slot| Arc::ptr_eq(&slot.shared, &child));
                if let Some(slot) = current {
                    // Ready ends the start that its cause began.
                    self.correlation = slot.cause;
                    self.on_ready(index, attempt);
                }
            }
            NodeMessage::Snapshots(reply) => {
                // The asker may have given up; then there is nobody to tell.
                let _ = reply.send(self.snapshots());
            }
            NodeMessage::Sync(reply) => {
                let _ = reply.send(());
            }
            NodeMessage::State(reply) => {
                let (children, running) = self.child_states();
                let _ = reply.send(NodeAnswer {
                    intensity: self.intensity_use(),
                    children,
                    running,
                });
            }
            NodeMessage::Shutdown(cause) => {
                self.new_cause();
                self.begin_shutdown(cause);
            }
            NodeMessage::Exit(exit) => self.on_exit(exit),
            NodeMessage::Command(request) => {
                self.correlation = Some(request.id);
                self.on_command(*request);
            }
            #[cfg(feature = "fault-injection")]
            NodeMessage::InjectPanic(path) => self.inject_panic(path),
        }
    }

    /// Test-only: panics inside this loop, or forwards the request to the nested node on the
    /// way to `path`.
    #[cfg(feature = "fault-injection")]
    fn inject_panic(&self, path: String) {
        if path == *self.path {
            panic!("injected fault in the control loop of `{path}`");
        }
        let next = self.present().find(|&i| {
            let child = self.child_path(i);
            path == *child || path.starts_with(&format!("{child}/"))
        });
        if let Some(link) = next.and_then(|i| self.slots[i].nested.as_ref())
            && let Some(inbox) = link.inbox()
        {
            let _ = inbox.send(NodeMessage::InjectPanic(path));
        }
    }

    /// Gives the child its attempt's task, or takes it (`None`): the one place that changes
    /// both, so `live_tasks` always counts the slots holding one.
    fn set_task(&mut self, index: usize, task: Option<tokio::task::AbortHandle>) {
        let slot = &mut self.slots[index];
        match (slot.task.is_some(), task.is_some()) {
            (false, true) => self.live_tasks = self.live_tasks.saturating_add(1),
            (true, false) => self.live_tasks = self.live_tasks.saturating_sub(1),
            _ => {}
        }
        slot.task = task;
    }

    fn new_slot(&self, index: usize) -> ChildSlot {
        let spec = self.child_spec(index);
        let mut path = String::with_capacity(self.path.len() + 1 + spec.name.len());
        path.push_str(&self.path);
        path.push('/');
        path.push_str(&spec.name);
        let shared = Arc::new(crate::context::ChildShared::new(
            (Arc::clone(&spec.name), path.into(), self.tree.next_id()),
            index,
            self.tree.epoch,
            Some(self.notify.clone()),
        ));
        // A consumer claims its mailbox as soon as it is in the tree, running or not. A claim
        // refused (a clone of a consumer's spec in another supervisor) is refused again to
        // its attempts, which say so.
        if let Some(mailbox) = spec.mailbox() {
            let _ = mailbox.claim(&shared);
        }
        self.tree.metrics.service_added();
        let key = self.tree.metrics.register(Arc::clone(&shared));
        ChildSlot::new(shared, key)
    }

    /// A child added at run time: in a vacant slot if there is one, else in a new one.
    fn add_dynamic(&mut self, spec: ChildSpec) -> usize {
        let base = self.spec.children.len();
        let name = Arc::clone(&spec.name);
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.extra.push(None);
                self.slots.push(ChildSlot::vacant());
                self.slots.len() - 1
            }
        };
        self.extra[index - base] = Some(spec);
        self.slots[index] = self.new_slot(index);
        lock(&self.names).insert(name, index);
        index
    }

    /// Whether the slot is vacant (a released child's).
    fn is_vacant(&self, index: usize) -> bool {
        index
            .checked_sub(self.spec.children.len())
            .is_some_and(|extra| self.extra.get(extra).is_none_or(Option::is_none))
    }

    /// The indices of the children there are (vacant slots left out): the declared ones in
    /// declaration order, then those added at run time in the order they were added (a
    /// reused slot does not move a new child ahead of older ones).
    fn live(&self) -> impl Iterator<Item = usize> + use<'_> {
        let base = self.spec.children.len();
        let mut added: Vec<usize> = self.present().filter(|&index| index >= base).collect();
        added.sort_by_key(|&index| self.slots[index].generation);
        (0..base).chain(added)
    }

    /// The same children in slot order, for what needs no order (counts, lookups).
    fn present(&self) -> impl Iterator<Item = usize> + use<'_> {
        (0..self.slots.len()).filter(|&index| !self.is_vacant(index))
    }

    /// Children added at run time that are there now.
    fn dynamic_count(&self) -> usize {
        self.extra.len() - self.free.len()
    }

    /// Gives a released child's slot and spec back: its memory is freed and its name may be
    /// used again. Only for a child added at run time, terminated, with no task.
    fn release(&mut self, index: usize) {
        let base = self.spec.children.len();
        let Some(spec) = index
            .checked_sub(base)
            .and_then(|extra| self.extra.get_mut(extra))
            .and_then(Option::take)
        else {
            return;
        };
        self.clear_timer(index);
        self.tree.metrics.deregister(self.slots[index].metrics_key);
        {
            let mut names = lock(&self.names);
            if names.get(&spec.name) == Some(&index) {
                names.remove(&spec.name);
            }
        }
        self.slots[index] = ChildSlot::vacant();
        self.free.push(index);
    }

    /// Releases the child if it has ended for good and was added at run time, not in
    /// shutdown (the report lists every child then): a temporary one that terminated, or a
    /// removed one.
    fn release_if_done(&mut self, index: usize) {
        let slot = &self.slots[index];
        let done = slot.phase == ServicePhase::Terminated
            && slot.task.is_none()
            && (self.child_spec(index).policy.restart == crate::model::RestartPolicy::Never
                || slot.termination == Some(crate::model::TerminationReason::Removed));
        if done && self.shutdown.is_none() && index >= self.spec.children.len() {
            self.release(index);
        }
    }

    fn child_spec(&self, index: usize) -> &ChildSpec {
        let base = self.spec.children.len();
        if index < base {
            &self.spec.children[index]
        } else {
            self.extra
                .get(index - base)
                .and_then(Option::as_ref)
                .unwrap_or_else(|| vacant_spec())
        }
    }

    fn dependencies(&self, index: usize) -> &[usize] {
        self.spec.layout.dependencies(index)
    }

    fn dependents(&self, index: usize) -> &[usize] {
        self.spec.layout.dependents(index)
    }

    /// Position in the startup order; children added at run time come last, in the order
    /// they were added (their generations increase), whichever slot they took.
    fn rank(&self, index: usize) -> usize {
        match self.spec.layout.rank(index) {
            Some(rank) => rank,
            None => {
                let generation = self.slots.get(index).map_or(0, |slot| slot.generation);
                let added = usize::try_from(generation).unwrap_or(usize::MAX);
                self.spec.children.len().saturating_add(added)
            }
        }
    }

    fn startup_order(&self) -> impl Iterator<Item = usize> + use<> {
        let base: Vec<usize> = self.spec.layout.order().collect();
        base.into_iter()
            .chain(self.spec.children.len()..self.slots.len())
    }

    fn shutdown_policy(&self, index: usize) -> ShutdownPolicy {
        let spec = self.child_spec(index);
        spec.policy.shutdown.unwrap_or(match spec.kind() {
            crate::model::ChildKind::Supervisor => ShutdownPolicy::Infinity,
            _ => ShutdownPolicy::Timeout(self.spec.shutdown_timeout),
        })
    }

    fn child_path(&self, index: usize) -> Arc<str> {
        Arc::clone(self.slots[index].path())
    }

    /// Builds and records an event only when it reaches someone (the journal or a
    /// subscriber), with the correlation of what is being handled.
    fn emit(&self, index: Option<usize>, kind: impl FnOnce(&Node) -> EventKind) {
        if !self.tree.recording() {
            return;
        }
        let source = match index.and_then(|i| self.slots.get(i)) {
            Some(slot) => EventSource {
                path: Arc::clone(slot.path()),
                generation: slot.generation,
                attempt: slot.attempt,
                correlation: self.correlation,
            },
            None => EventSource {
                path: Arc::clone(&self.path),
                generation: 0,
                attempt: 0,
                correlation: self.correlation,
            },
        };
        self.tree.emit(source, kind(self));
    }

    /// A fresh correlation, for a cause that starts here (a failure, a shutdown).
    fn new_cause(&mut self) {
        self.correlation = Some(self.tree.next_id());
    }

    fn set_phase(&mut self, index: usize, to: ServicePhase) {
        let slot = &mut self.slots[index];
        let from = slot.phase;
        match from.transition(to) {
            Ok(phase) => slot.phase = phase,
            Err(error) => {
                // A bug in this loop, never the user's: keep running, but loudly.
                tracing::error!(path = %self.child_path(index), %error, "internal error");
                debug_assert!(false, "{error}");
                self.slots[index].phase = to;
            }
        }
        // The active count follows the phase, whatever leads into or out of Terminated.
        match (
            from == ServicePhase::Terminated,
            to == ServicePhase::Terminated,
        ) {
            (false, true) => self.tree.metrics.service_left(),
            (true, false) => self.tree.metrics.service_added(),
            _ => {}
        }
        self.emit(Some(index), |_| EventKind::PhaseChanged { from, to });
    }

    /// Replaces the child's timer.
    fn set_timer(&mut self, index: usize, what: ChildDue, after: Duration) {
        self.clear_timer(index);
        let due = Due::Child {
            index,
            attempt: self.slots[index].attempt,
            what,
        };
        self.slots[index].timer = Some(self.insert_timer(due, after));
    }

    /// Every duration is validated against `MAX_DURATION`, well inside the timer's range;
    /// bounded again here so that no value can panic the loop.
    fn insert_timer(&mut self, due: Due, after: Duration) -> tokio_util::time::delay_queue::Key {
        self.timers.insert(due, after.min(MAX_DURATION))
    }

    fn clear_timer(&mut self, index: usize) {
        if let Some(key) = self.slots[index].timer.take() {
            self.timers.remove(&key);
        }
    }

    fn on_due(&mut self, due: Due) {
        match due {
            Due::Group(group) => {
                if let Some(g) = self.group_mut(group) {
                    g.timer = None;
                    g.delay_passed = true;
                }
                self.maybe_release(group);
            }
            Due::Child {
                index,
                attempt,
                what,
            } => {
                if self
                    .slots
                    .get(index)
                    .is_none_or(|slot| slot.attempt != attempt)
                {
                    return;
                }
                self.slots[index].timer = None;
                match what {
                    ChildDue::ReadyDeadline => self.on_ready_deadline(index),
                    ChildDue::HeartbeatCheck => self.on_heartbeat_check(index),
                    ChildDue::Kill => self.kill(index),
                }
            }
            Due::Kill(batch) => self.on_kill_deadline(batch),
            Due::Detach(batch) => self.on_detach_deadline(batch),
        }
    }

    fn group_mut(&mut self, group: usize) -> Option<&mut RestartGroup> {
        self.groups.get_mut(group)
    }

    /// Stage 4 of shutdown: every child's final state and outcome, nested supervisors'
    /// children included (from their last run, or from the spec if they never ran).
    fn finish(mut self) -> NodeExit {
        let now = Instant::now();
        let (requested_by, reason, started) = match self.shutdown.take() {
            Some((cause, at)) => (cause.requested_by, cause.reason, at),
            None => (String::new(), String::new(), now),
        };
        self.emit(None, |_| EventKind::ShutdownCompleted);
        let children: Vec<ChildRecord> =
            self.live().map(|index| self.final_record(index)).collect();
        if self.context.is_some() {
            // A nested node's children end with it (its next run has new ones); the root's
            // stay listed in the metrics with their final counters.
            for index in 0..self.slots.len() {
                self.tree.metrics.deregister(self.slots[index].metrics_key);
            }
        }
        NodeExit {
            requested_by,
            reason,
            duration: now.saturating_duration_since(started),
            children,
            failure: self.failure.take(),
        }
    }
}
