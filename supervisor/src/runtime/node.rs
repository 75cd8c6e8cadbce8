//! The control loop of one supervisor node.
//!
//! Invariants: only this loop reads or writes the children's slots; every attempt is a task in
//! `tasks` and reports its exit there (panics included); a slot has a live task exactly when
//! it is `Starting`, `Running` or `Stopping`, and a pending timer exactly when it is
//! `BackingOff`. The loop ends only after `tasks` is empty, so no attempt outlives it.

use std::future::poll_fn;
use std::sync::{Arc, Mutex};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::{broadcast, oneshot};
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tokio_util::time::DelayQueue;

use super::attempt::{Attempt, AttemptExit, Outcome, panic_message};
use super::child_spec::ChildSpec;
use super::config::SupervisorConfig;
use super::shutdown_report::{ServiceShutdown, ShutdownReport, StopOutcome};
use super::slot::{ChildSlot, Failure};
use super::snapshot::ServiceLifecycleSnapshot;
use crate::context::{ChildShared, TaskContext};
use crate::model::{Readiness, ServicePhase, TerminationReason, TimeoutKind};
use crate::observe::{EventKind, LifecycleEvent, SupervisorMetrics};
use crate::policy::{BackoffState, Decision, ExitKind, StopReason, decide, seed_from_os};

/// What handles and contexts send to the control loop.
pub(crate) enum NodeMessage {
    Spawn(Box<ChildSpec>),
    Ready { index: usize, attempt: u32 },
    Snapshots(oneshot::Sender<Vec<ServiceLifecycleSnapshot>>),
}

/// State shared between a node's loop and its handles.
pub(crate) struct NodeShared {
    pub(crate) metrics: SupervisorMetrics,
    pub(crate) events: broadcast::Sender<LifecycleEvent>,
    /// Cancelled to request shutdown.
    pub(crate) shutdown: CancellationToken,
    /// Cancelled to skip the rest of the graceful drain and abort at once.
    pub(crate) abort_now: CancellationToken,
    /// Cancelled once the loop has finished and no attempt is alive.
    pub(crate) drained: CancellationToken,
    /// Written once, when the loop finishes.
    pub(crate) final_state: Mutex<Option<FinalState>>,
}

/// A timer of one child's attempt.
#[derive(Debug, Clone, Copy)]
struct Due {
    index: usize,
    attempt: u32,
    what: DueKind,
}

#[derive(Debug, Clone, Copy)]
enum DueKind {
    /// The backoff is over: start the next attempt.
    Restart,
    /// The attempt had until now to report ready.
    ReadyDeadline,
}

pub(crate) struct FinalState {
    pub(crate) snapshots: Vec<ServiceLifecycleSnapshot>,
    pub(crate) report: ShutdownReport,
}

impl NodeShared {
    pub(crate) fn new(event_capacity: usize) -> Self {
        NodeShared {
            metrics: SupervisorMetrics::default(),
            events: broadcast::channel(event_capacity).0,
            shutdown: CancellationToken::new(),
            abort_now: CancellationToken::new(),
            drained: CancellationToken::new(),
            final_state: Mutex::new(None),
        }
    }

    /// Publishes the final state and wakes everyone waiting for the drain.
    pub(crate) fn finish(&self, state: FinalState) {
        *self
            .final_state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(state);
        self.drained.cancel();
    }
}

pub(crate) struct Node {
    shared: Arc<NodeShared>,
    config: SupervisorConfig,
    notify: UnboundedSender<NodeMessage>,
    messages: UnboundedReceiver<NodeMessage>,
    slots: Vec<ChildSlot>,
    tasks: JoinSet<AttemptExit>,
    timers: DelayQueue<Due>,
    epoch: Instant,
    seq: u64,
    stopping: bool,
    /// Seeds each child's jitter: from the configured seed, or once from the OS.
    rng: SmallRng,
}

impl Node {
    pub(crate) fn new(
        shared: Arc<NodeShared>,
        config: SupervisorConfig,
        notify: UnboundedSender<NodeMessage>,
        messages: UnboundedReceiver<NodeMessage>,
    ) -> Self {
        Node {
            shared,
            notify,
            messages,
            slots: Vec::new(),
            tasks: JoinSet::new(),
            timers: DelayQueue::new(),
            epoch: Instant::now(),
            seq: 0,
            stopping: false,
            rng: match config.rng_seed() {
                Some(seed) => SmallRng::seed_from_u64(seed),
                None => seed_from_os(),
            },
            config,
        }
    }

    /// Supervises until shutdown is requested, then shuts down in stages and publishes the
    /// final state.
    pub(crate) async fn run(mut self) {
        let shutdown = self.shared.shutdown.clone();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                Some(message) = self.messages.recv() => self.on_message(message),
                Some(exit) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.on_exit(exit);
                }
                Some(expired) = poll_fn(|cx| self.timers.poll_expired(cx)), if !self.timers.is_empty() => {
                    self.on_due(expired.into_inner());
                }
            }
        }
        self.shut_down().await;
    }

    fn on_message(&mut self, message: NodeMessage) {
        match message {
            NodeMessage::Spawn(spec) => self.add_child(*spec),
            NodeMessage::Ready { index, attempt } => self.on_ready(index, attempt),
            NodeMessage::Snapshots(reply) => {
                // The asker may have given up; then there is nobody to tell.
                let _ = reply.send(self.snapshots());
            }
        }
    }

    fn add_child(&mut self, spec: ChildSpec) {
        let index = self.slots.len();
        let shared = Arc::new(ChildShared::new(
            Arc::clone(&spec.name),
            index,
            self.epoch,
            Some(self.notify.clone()),
        ));
        let backoff = BackoffState::with_seed(spec.backoff, self.rng.next_u64());
        self.slots.push(ChildSlot::new(spec, shared, backoff));
        self.shared.metrics.service_added();
        if self.stopping {
            // Added while shutting down: record it, never start it.
            self.slots[index].stop_outcome = Some(StopOutcome::NotRunning);
            self.terminate(index, TerminationReason::Cancelled);
        } else {
            self.start_attempt(index);
        }
    }

    fn start_attempt(&mut self, index: usize) {
        let now = Instant::now();
        let slot = &mut self.slots[index];
        slot.attempt += 1;
        let attempt = slot.attempt;
        let token = CancellationToken::new();
        let ctx = TaskContext::new(Arc::clone(&slot.shared), token.clone(), attempt);
        let task = Attempt::new(index, ctx, Arc::clone(&slot.spec.factory));
        slot.task = Some(self.tasks.spawn(task));
        slot.token = Some(token);
        self.shared.metrics.attempt_spawned(attempt > 1);
        if attempt > 1 {
            self.set_phase(index, ServicePhase::Starting);
        }
        self.emit(Some(index), |_| EventKind::Started { attempt });
        match self.slots[index].spec.readiness {
            Readiness::Immediate => self.mark_running(index, now),
            Readiness::Explicit { timeout } => {
                let due = Due {
                    index,
                    attempt,
                    what: DueKind::ReadyDeadline,
                };
                self.slots[index].timer = Some(self.timers.insert(due, timeout));
            }
        }
    }

    fn mark_running(&mut self, index: usize, now: Instant) {
        let slot = &mut self.slots[index];
        slot.running_since = Some(now);
        slot.backoff.record_start(now.into_std());
        self.set_phase(index, ServicePhase::Running);
    }

    fn on_ready(&mut self, index: usize, attempt: u32) {
        let slot = &mut self.slots[index];
        // Only the current attempt, still starting and not already past its deadline.
        if slot.attempt != attempt
            || slot.phase != ServicePhase::Starting
            || slot.missed_deadline.is_some()
        {
            return;
        }
        if let Some(key) = slot.timer.take() {
            self.timers.remove(&key);
        }
        self.mark_running(index, Instant::now());
    }

    fn on_due(&mut self, due: Due) {
        let slot = &mut self.slots[due.index];
        if slot.attempt != due.attempt {
            return;
        }
        slot.timer = None;
        match (due.what, slot.phase) {
            (DueKind::Restart, ServicePhase::BackingOff) => self.start_attempt(due.index),
            (DueKind::ReadyDeadline, ServicePhase::Starting) => {
                if let Readiness::Explicit { timeout } = slot.spec.readiness {
                    slot.missed_deadline = Some(TimeoutKind::Startup(timeout));
                }
                // It failed to start; don't wait for it to notice the cancellation.
                if let Some(token) = &slot.token {
                    token.cancel();
                }
                if let Some(task) = &slot.task {
                    task.abort();
                }
            }
            _ => {}
        }
    }

    fn on_exit(&mut self, joined: Result<(Id, AttemptExit), JoinError>) {
        let (index, outcome) = match joined {
            Ok((_, exit)) => {
                debug_assert_eq!(exit.attempt, self.slots[exit.index].attempt);
                (exit.index, Some(exit.outcome))
            }
            Err(error) => match self.slot_of_task(error.id()) {
                // Attempts catch their own panics, so a join error is an abort.
                Some(index) => (index, error.try_into_panic().ok().map(Outcome::Panicked)),
                None => {
                    tracing::error!(%error, "internal error: an exited task belongs to no child");
                    return;
                }
            },
        };
        let now = Instant::now();
        let slot = &mut self.slots[index];
        slot.task = None;
        slot.token = None;
        slot.stop_running_clock(now);
        if let Some(key) = slot.timer.take() {
            self.timers.remove(&key);
        }
        let stopping = self.stopping || slot.phase == ServicePhase::Stopping;
        let missed_deadline = slot.missed_deadline.take();
        let outcome = match missed_deadline {
            Some(kind) => Some(Outcome::MissedDeadline(kind)),
            None => outcome,
        };
        let Some(outcome) = outcome else {
            slot.stop_outcome = Some(StopOutcome::Aborted);
            self.terminate(index, TerminationReason::Aborted);
            return;
        };
        if stopping && slot.stop_outcome.is_none() {
            slot.stop_outcome = Some(StopOutcome::Graceful);
        }
        let exit = match outcome {
            Outcome::Returned(Ok(())) => ExitKind::Completed,
            Outcome::Returned(Err(error)) => {
                let kind = error.kind();
                slot.last_failure = Some(Failure::Error(error));
                ExitKind::Failed(kind)
            }
            Outcome::Panicked(payload) => {
                slot.last_failure = Some(Failure::Panic(payload));
                ExitKind::Panicked
            }
            Outcome::MissedDeadline(kind) => {
                slot.last_failure = Some(Failure::Timeout(kind));
                ExitKind::TimedOut
            }
        };
        if exit != ExitKind::Completed {
            slot.total_failures += 1;
            tracing::warn!(
                service = %slot.spec.name,
                attempt = slot.attempt,
                error = %slot.last_failure.as_ref().map(Failure::message).unwrap_or_default(),
                "attempt failed"
            );
        }
        let decision = decide(
            exit,
            slot.spec.restart,
            stopping,
            &mut slot.backoff,
            now.into_std(),
        );
        match decision {
            Decision::Restart(delay) => {
                // A zero delay restarts now rather than on the timer wheel's next tick.
                if !delay.is_zero() {
                    let due = Due {
                        index,
                        attempt: slot.attempt,
                        what: DueKind::Restart,
                    };
                    slot.timer = Some(self.timers.insert(due, delay));
                }
                self.set_phase(index, ServicePhase::BackingOff);
                let next_attempt = self.slots[index].attempt + 1;
                self.emit(Some(index), |node| EventKind::BackingOff {
                    next_attempt,
                    delay,
                    cause: match exit {
                        ExitKind::Completed => None,
                        _ => node.slots[index]
                            .last_failure
                            .as_ref()
                            .map(Failure::message),
                    },
                });
                if delay.is_zero() {
                    self.start_attempt(index);
                }
            }
            Decision::Stop(reason) => {
                let reason = self.termination_reason(index, reason);
                self.terminate(index, reason);
            }
        }
    }

    /// The reason a stop decision records; a failed exit's reason comes from its payload.
    fn termination_reason(&self, index: usize, reason: StopReason) -> TerminationReason {
        match reason {
            StopReason::Completed => TerminationReason::Completed,
            StopReason::Cancelled => TerminationReason::Cancelled,
            StopReason::CircuitOpen {
                failures,
                max_failures,
            } => TerminationReason::CircuitBreakerOpen {
                failures,
                max_failures,
            },
            StopReason::Failed | StopReason::Panicked | StopReason::TimedOut => {
                match &self.slots[index].last_failure {
                    Some(Failure::Error(error)) => TerminationReason::Failed(error.summary()),
                    Some(Failure::Panic(payload)) => {
                        TerminationReason::Panicked(panic_message(payload.as_ref()))
                    }
                    Some(Failure::Timeout(kind)) => TerminationReason::TimedOut(*kind),
                    // A failed exit always records its failure before deciding.
                    None => TerminationReason::Aborted,
                }
            }
        }
    }

    fn terminate(&mut self, index: usize, reason: TerminationReason) {
        let breaker_opened = matches!(reason, TerminationReason::CircuitBreakerOpen { .. });
        if breaker_opened {
            tracing::error!(service = %self.slots[index].spec.name, %reason, "circuit breaker open");
        }
        self.set_phase(index, ServicePhase::Terminated);
        self.slots[index].termination = Some(reason.clone());
        self.shared.metrics.service_terminated(breaker_opened);
        self.emit(Some(index), |_| EventKind::Terminated(reason));
    }

    fn set_phase(&mut self, index: usize, to: ServicePhase) {
        let slot = &mut self.slots[index];
        let from = slot.phase;
        match from.transition(to) {
            Ok(phase) => slot.phase = phase,
            Err(error) => {
                // A bug in this loop, never the user's: keep running, but loudly.
                tracing::error!(service = %slot.spec.name, %error, "internal error");
                debug_assert!(false, "{error}");
                slot.phase = to;
            }
        }
        self.emit(Some(index), |_| EventKind::PhaseChanged { from, to });
    }

    /// Builds and sends an event only when someone listens.
    fn emit(&mut self, index: Option<usize>, kind: impl FnOnce(&Node) -> EventKind) {
        if self.shared.events.receiver_count() == 0 {
            return;
        }
        let kind = kind(self);
        self.seq += 1;
        let event = LifecycleEvent {
            seq: self.seq,
            at: Instant::now().saturating_duration_since(self.epoch),
            service: index.map(|i| Arc::clone(&self.slots[i].spec.name)),
            kind,
        };
        // Only fails when every receiver is gone, which was checked above.
        let _ = self.shared.events.send(event);
    }

    fn slot_of_task(&self, id: Id) -> Option<usize> {
        self.slots
            .iter()
            .position(|slot| slot.task.as_ref().is_some_and(|task| task.id() == id))
    }

    fn snapshots(&self) -> Vec<ServiceLifecycleSnapshot> {
        let now = Instant::now();
        self.slots.iter().map(|slot| slot.snapshot(now)).collect()
    }

    /// Stage 1 requests every child to stop (newest first), stage 2 waits for them up to the
    /// shutdown timeout, stage 3 aborts the stragglers, stage 4 publishes the final state.
    async fn shut_down(mut self) {
        let started = Instant::now();
        self.stopping = true;
        self.emit(None, |_| EventKind::ShutdownRequested);
        for index in (0..self.slots.len()).rev() {
            self.request_stop(index);
        }
        let deadline = started + self.config.shutdown_timeout();
        let abort_now = self.shared.abort_now.clone();
        let mut aborted = false;
        while !self.tasks.is_empty() {
            tokio::select! {
                biased;
                Some(exit) = self.tasks.join_next_with_id() => self.on_exit(exit),
                Some(message) = self.messages.recv() => self.on_message(message),
                _ = sleep_until(deadline), if !aborted => aborted = self.abort_all(),
                _ = abort_now.cancelled(), if !aborted => aborted = self.abort_all(),
            }
        }
        // Services added just before the stop request are recorded, not started.
        while let Ok(message) = self.messages.try_recv() {
            self.on_message(message);
        }
        self.emit(None, |_| EventKind::ShutdownCompleted);
        let report = ShutdownReport {
            services: self
                .slots
                .iter()
                .map(|slot| ServiceShutdown {
                    name: slot.spec.name.to_string(),
                    outcome: slot.stop_outcome.unwrap_or(StopOutcome::NotRunning),
                })
                .collect(),
            duration: Instant::now().saturating_duration_since(started),
        };
        let snapshots = self.snapshots();
        let shared = Arc::clone(&self.shared);
        // Drop every slot (and its contexts' senders) before telling anyone it is over.
        drop(self);
        shared.finish(FinalState { snapshots, report });
    }

    fn request_stop(&mut self, index: usize) {
        match self.slots[index].phase {
            ServicePhase::Starting | ServicePhase::Running => {
                if let Some(token) = &self.slots[index].token {
                    token.cancel();
                }
                self.set_phase(index, ServicePhase::Stopping);
            }
            ServicePhase::BackingOff => {
                if let Some(key) = self.slots[index].timer.take() {
                    self.timers.remove(&key);
                }
                self.slots[index].stop_outcome = Some(StopOutcome::NotRunning);
                self.terminate(index, TerminationReason::Cancelled);
            }
            ServicePhase::Stopping | ServicePhase::Terminated => {}
        }
    }

    /// Returns true, for the caller's "aborted" flag.
    fn abort_all(&mut self) -> bool {
        for slot in &self.slots {
            if let Some(task) = &slot.task {
                tracing::warn!(service = %slot.spec.name, "did not stop in time; aborting");
                task.abort();
            }
        }
        true
    }
}
