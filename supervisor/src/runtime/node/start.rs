//! Starting children: dependency gating, readiness, heartbeats.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{ChildDue, Node};
use crate::context::TaskContext;
use crate::model::{Readiness, ServicePhase, TimeoutKind};
use crate::observe::EventKind;
use crate::runtime::attempt::{BlockingAttempts, ExitReport, SpawnAttempt};
use crate::runtime::nested::{NestedAttempt, NestedRun};
use crate::runtime::tree::{NestedLink, lock};
use crate::spec::Run;

impl Node {
    /// Starts every child whose dependencies allow it, in startup order; a nested node then
    /// reports ready to its parent.
    pub(super) fn start_initial(&mut self) {
        if self.spec.layout.is_flat() {
            // Nothing waits for anything: declaration order, without the queue.
            for index in 0..self.slots.len() {
                self.start_if_due(index);
            }
        } else {
            let order: Vec<usize> = self.startup_order().collect();
            self.try_start_all(order);
        }
        // The queue held every child once; give the memory back (16 B per child).
        self.start_queue = BinaryHeap::new();
        if let Some(ctx) = &self.context {
            ctx.ready();
        }
    }

    /// Starts the child if it is due (waiting, or backing off outside any restart group) and
    /// every dependency is running; otherwise leaves it waiting.
    pub(super) fn try_start(&mut self, index: usize) {
        self.try_start_all([index]);
    }

    /// [`try_start`](Self::try_start) for each of `children`. Starts are queued and taken
    /// lowest startup rank first, so they go out in startup order, and a child that becomes
    /// running releases its dependents without recursion, however long a chain is.
    pub(super) fn try_start_all(&mut self, children: impl IntoIterator<Item = usize>) {
        for index in children {
            self.start_queue.push(Reverse((self.rank(index), index)));
        }
        if self.draining_starts {
            return;
        }
        self.draining_starts = true;
        while let Some(Reverse((_, next))) = self.start_queue.pop() {
            self.start_if_due(next);
        }
        self.draining_starts = false;
    }

    fn start_if_due(&mut self, index: usize) {
        let Some(slot) = self.slots.get(index) else {
            return;
        };
        let due = matches!(slot.phase, ServicePhase::Waiting | ServicePhase::BackingOff)
            && slot.group.is_none()
            && slot.task.is_none();
        if !due || self.shutdown.is_some() {
            return;
        }
        // A dependency about to be stopped is not ready. A quarantined one no longer holds
        // back a child ordered `after` it; one that `requires` it still waits.
        let dependencies_ready =
            self.dependencies(index)
                .iter()
                .all(|&dep| match self.slots[dep].phase {
                    ServicePhase::Running => self.slots[dep].stop.is_none(),
                    ServicePhase::Quarantined => {
                        !self.spec.layout.bound_dependents(dep).contains(&index)
                    }
                    _ => false,
                });
        if dependencies_ready {
            self.start_attempt(index);
        } else if slot.phase == ServicePhase::BackingOff {
            self.set_phase(index, ServicePhase::Waiting);
        }
    }

    pub(super) fn start_attempt(&mut self, index: usize) {
        let now = Instant::now();
        self.set_phase(index, ServicePhase::Starting);
        let slot = &mut self.slots[index];
        slot.cause = self.correlation;
        // Saturates after 4 billion attempts rather than wrapping to 0.
        slot.attempt = slot.attempt.saturating_add(1);
        let attempt = slot.attempt;
        let token = CancellationToken::new();
        let ctx = TaskContext::new(Arc::clone(&slot.shared), token.clone(), attempt);
        slot.token = Some(token);
        let slot = &self.slots[index];
        // Everything the attempt logs carries its path (nothing is built without a subscriber).
        let span = tracing::info_span!(
            "attempt",
            path = %slot.path(),
            child = %self.child_spec(index).name,
            attempt
        );
        if attempt == 1 {
            tracing::debug!(path = %slot.path(), "starting");
        } else {
            tracing::info!(path = %slot.path(), attempt, "restarting");
        }
        let report = ExitReport {
            inbox: self.notify.clone(),
            index,
            generation: slot.generation,
            attempt,
        };
        // A consumer started again after it had ended for good takes messages again; a clone
        // of another child's consumer spec touches nothing (its lease is refused).
        if let Some(mailbox) = self.child_spec(index).mailbox() {
            let dead = mailbox.revive(&self.slots[index].shared);
            if dead > 0 {
                let name = Arc::from(mailbox.name());
                self.emit(Some(index), |_| EventKind::DeadLettered {
                    mailbox: name,
                    count: dead,
                    reason: "sent while its consumer had terminated".to_owned(),
                });
            }
            // Claimed when its slot was made; claimed again here, for the same child.
            if attempt == 1 && mailbox.claim(&self.slots[index].shared).is_ok() {
                self.tree.register_mailbox(mailbox);
            }
        }
        let task = match &self.child_spec(index).run {
            #[cfg(feature = "testing")]
            Run::Async(factory) if self.tree.faults.is_some() => {
                let board = self.tree.faults.clone().unwrap_or_default();
                Arc::clone(factory).spawn_with_faults(report, ctx, span, board)
            }
            Run::Async(factory) => Arc::clone(factory).spawn(report, ctx, span),
            Run::Blocking(factory) => {
                Arc::new(BlockingAttempts(Arc::clone(factory))).spawn(report, ctx, span)
            }
            Run::Supervisor(spec) => {
                let spec = Arc::clone(spec);
                let link = Arc::clone(
                    self.slots[index]
                        .nested
                        .get_or_insert_with(|| Arc::new(NestedLink::default())),
                );
                let abort = self.abort.child_token();
                *lock(&link.abort) = Some(abort.clone());
                let nested = NestedRun {
                    path: self.child_path(index),
                    spec,
                    tree: Arc::clone(&self.tree),
                    link,
                    rng_seed: self.rng_seed(),
                    cause: self.correlation,
                    abort,
                };
                Arc::new(NestedAttempt(nested)).spawn(report, ctx, span)
            }
        };
        self.set_task(index, Some(task));
        self.tree.metrics.attempt_spawned(attempt > 1);
        if attempt > 1 {
            self.slots[index].shared.counters.restarted();
        }
        self.emit(Some(index), |_| EventKind::Started { attempt });
        match self.child_spec(index).policy.readiness {
            Readiness::Immediate => self.mark_running(index, now),
            Readiness::Explicit { timeout } => {
                self.set_timer(index, ChildDue::ReadyDeadline, timeout);
            }
        }
    }

    fn rng_seed(&mut self) -> Option<u64> {
        use rand::Rng;
        Some(self.rng.next_u64())
    }

    fn mark_running(&mut self, index: usize, now: Instant) {
        let slot = &mut self.slots[index];
        slot.shared.start_running(now);
        slot.backoff.record_start(now.into_std());
        self.set_phase(index, ServicePhase::Running);
        if let Some(limit) = self.child_spec(index).policy.heartbeat_timeout {
            self.set_timer(index, ChildDue::HeartbeatCheck, limit);
        }
        // Its dependents may have been waiting for exactly this; those stopped for good
        // because they require it come back.
        self.revive_bound_dependents(index);
        let layout = Arc::clone(&self.spec.layout);
        self.try_start_all(layout.dependents(index).iter().copied());
    }

    pub(super) fn on_ready(&mut self, index: usize, attempt: u32) {
        let slot = &self.slots[index];
        // Only the current attempt, still starting and not already past its deadline.
        if slot.attempt != attempt
            || slot.phase != ServicePhase::Starting
            || slot.missed_deadline.is_some()
            || slot.stop.is_some()
        {
            return;
        }
        self.clear_timer(index);
        self.mark_running(index, Instant::now());
    }

    pub(super) fn on_ready_deadline(&mut self, index: usize) {
        if self.slots[index].phase != ServicePhase::Starting || self.slots[index].stop.is_some() {
            return;
        }
        if let Readiness::Explicit { timeout } = self.child_spec(index).policy.readiness {
            self.fail_hung(index, TimeoutKind::Startup(timeout));
        }
    }

    pub(super) fn on_heartbeat_check(&mut self, index: usize) {
        let Some(limit) = self.child_spec(index).policy.heartbeat_timeout else {
            return;
        };
        let slot = &self.slots[index];
        if slot.phase != ServicePhase::Running || slot.stop.is_some() {
            return;
        }
        let now = Instant::now();
        let silent = slot.shared.silence(now).unwrap_or(limit);
        if silent >= limit {
            self.fail_hung(index, TimeoutKind::Heartbeat(limit));
        } else {
            self.set_timer(index, ChildDue::HeartbeatCheck, limit - silent);
        }
    }

    /// A child that missed a deadline is not waited for: cancel and abort its attempt; its
    /// exit then counts as this timeout. A blocking worker cannot be aborted: it is cancelled
    /// and its thread waited for (reported as detached meanwhile).
    fn fail_hung(&mut self, index: usize, kind: TimeoutKind) {
        let slot = &mut self.slots[index];
        slot.missed_deadline = Some(kind);
        if let Some(token) = &slot.token {
            token.cancel();
        }
        tracing::warn!(path = %self.child_path(index), timeout = %kind, "missed its deadline");
        if self.is_blocking(index) {
            self.leave_thread_running(index, "missed its deadline");
        } else {
            self.abort_attempt(index);
        }
    }
}
