//! Stopping children: dependents before their dependencies, each per its shutdown policy.

use tokio::time::Instant;

use std::time::Duration;

use super::{ChildDue, Due, KillBatch, LastExit, NO_BATCH, Node, Stop, StopPurpose};
use crate::model::MAX_DURATION;
use crate::model::{RestartPolicy, ServicePhase, ShutdownPolicy, TerminationReason};
use crate::observe::EventKind;
use crate::policy::ExitKind;
use crate::runtime::attempt::AttemptExit;
use crate::runtime::shutdown_report::StopOutcome;
use crate::runtime::tree::{ShutdownCause, lock};

impl Node {
    /// Stage 1 of shutdown: children not running are terminated at once, running ones join a
    /// stop wave (stage 2, the graceful drain); stage 3 (abort) comes per child from its
    /// shutdown policy, stage 4 (reconcile) when the loop ends.
    pub(crate) fn begin_shutdown(&mut self, cause: ShutdownCause) {
        if self.shutdown.is_some() {
            return;
        }
        tracing::info!(path = %self.path, by = %cause.requested_by, reason = %cause.reason, "shutting down");
        self.emit(None, |_| EventKind::ShutdownRequested {
            requested_by: cause.requested_by.clone(),
            reason: cause.reason.clone(),
        });
        self.shutdown = Some((cause, Instant::now()));
        self.shutting_down.cancel();
        if self.context.is_none() {
            self.tree
                .ending
                .store(true, std::sync::atomic::Ordering::Release);
        }
        self.start_queue.clear();
        for group in self.groups.drain() {
            if let Some(key) = group.timer {
                self.timers.remove(&key);
            }
        }
        let mut running = Vec::new();
        for index in 0..self.slots.len() {
            self.slots[index].group = None;
            match self.slots[index].phase {
                ServicePhase::Starting | ServicePhase::Running => running.push(index),
                ServicePhase::Stopping => {
                    let mut killed = false;
                    if let Some(stop) = &mut self.slots[index].stop {
                        stop.purpose = StopPurpose::Shutdown;
                        killed = std::mem::take(&mut stop.killed);
                    }
                    if killed {
                        // Past its deadline already: a blocking worker left waiting for the
                        // restart is detached now, so that shutdown does not wait for it.
                        self.kill(index);
                    }
                }
                ServicePhase::Waiting | ServicePhase::BackingOff if self.drain_due(index) => {
                    self.start_attempt(index);
                    running.push(index);
                }
                ServicePhase::Waiting
                | ServicePhase::BackingOff
                | ServicePhase::Paused
                | ServicePhase::Quarantined => {
                    self.terminate_unstarted(index);
                }
                ServicePhase::Terminated => {}
            }
        }
        self.stop_wave(&running, StopPurpose::Shutdown);
        if self.abort.is_cancelled() {
            self.abort_all();
        }
    }

    /// Whether a consumer not running as the tree shuts down gets one attempt to drain its
    /// mailbox (messages wait in it, and its mailbox drains at shutdown): the price of
    /// losing no message, where Erlang/OTP would terminate an unstarted child.
    fn drain_due(&self, index: usize) -> bool {
        self.tree.ending.load(std::sync::atomic::Ordering::Acquire)
            && self.slots[index].task.is_none()
            && self
                .child_spec(index)
                .mailbox()
                .is_some_and(|mailbox| mailbox.wants_drain())
    }

    /// Stops `members`: each is cancelled once every dependent of it that is being stopped
    /// has exited, newest first (reverse startup order) among those free to go.
    pub(super) fn stop_wave(&mut self, members: &[usize], purpose: StopPurpose) {
        for &member in members {
            self.slots[member].stop = Some(Stop {
                purpose,
                issued: false,
                killed: false,
                detached: false,
                abort_batch: NO_BATCH,
            });
            self.slots[member].cause = self.correlation;
        }
        self.issue_free_stops(members.iter().copied());
    }

    /// Cancels those of `members` whose dependents being stopped have all exited, newest
    /// first; the others follow as their dependents exit.
    pub(super) fn issue_free_stops(&mut self, members: impl Iterator<Item = usize>) {
        let mut free: Vec<usize> = members.filter(|&m| self.free_to_stop(m)).collect();
        free.sort_by_key(|&m| std::cmp::Reverse(self.rank(m)));
        // A wave's kill deadlines share one timer: one instant for all of them.
        let wave = (free.len() > 1).then(Instant::now);
        for member in free {
            self.issue_stop(member, wave);
        }
    }

    /// Whether no dependent of `index` that is being stopped is still alive, nor, once the
    /// tree is ending, a sibling that sends into its mailbox: derived from the slots, so
    /// overlapping waves cannot miscount.
    fn free_to_stop(&self, index: usize) -> bool {
        let gone = |&other: &usize| {
            let slot = &self.slots[other];
            slot.task.is_none() || slot.stop.is_none()
        };
        self.dependents(index).iter().all(gone)
            && (!self.tree.ending.load(std::sync::atomic::Ordering::Acquire)
                || self.spec.layout.drain_producers(index).iter().all(gone))
    }

    /// A child exited: its dependencies, and the consumers it sends into, waiting on it may
    /// be stopped now.
    pub(super) fn release_stops_of_dependencies(&mut self, index: usize) {
        // The layout is shared and never changes: index it instead of copying it.
        let layout = std::sync::Arc::clone(&self.spec.layout);
        let waiting = layout.dependencies(index).iter();
        for &dependency in waiting.chain(layout.drain_consumers(index)) {
            let pending = self.slots[dependency]
                .stop
                .as_ref()
                .is_some_and(|stop| !stop.issued);
            if pending && self.free_to_stop(dependency) {
                self.issue_stop(dependency, None);
            }
        }
    }

    /// Cancels the child and arms its kill deadline: its own timer (given back when it exits),
    /// or, in a `wave` issued at that instant, the wave's shared one.
    fn issue_stop(&mut self, index: usize, wave: Option<Instant>) {
        let Some(stop) = &mut self.slots[index].stop else {
            return;
        };
        if stop.issued {
            return;
        }
        stop.issued = true;
        let drains = stop.purpose == StopPurpose::Shutdown && self.drains_at_shutdown(index);
        if let Some(token) = &self.slots[index].token
            && !drains
        {
            token.cancel();
        }
        self.clear_timer(index);
        self.set_phase(index, ServicePhase::Stopping);
        match self.shutdown_policy(index) {
            ShutdownPolicy::BrutalKill => self.kill_at(index, wave),
            ShutdownPolicy::Timeout(limit) => match wave {
                Some(now) => self.kill_after(index, limit, now),
                None => self.set_timer(index, ChildDue::Kill, limit),
            },
            ShutdownPolicy::Infinity => {}
        }
        if self.abort.is_cancelled() && self.shutdown.is_some() {
            self.kill_at(index, wave);
        }
    }

    /// Whether the child consumes a mailbox and the tree is ending: then its mailbox is closed
    /// instead of its token cancelled, and it receives what is queued; its inbox cancels the
    /// token once it has received the last message. Its shutdown policy bounds the drain.
    fn drains_at_shutdown(&self, index: usize) -> bool {
        if !self.tree.ending.load(std::sync::atomic::Ordering::Acquire) {
            return false;
        }
        let Some(mailbox) = self.child_spec(index).mailbox() else {
            return false;
        };
        if !crate::mailbox::consumed_within(mailbox.as_ref(), self.slots[index].path()) {
            return false;
        }
        // Opted out: closed, and the consumer cancelled at once as any child is.
        if !mailbox.drains_on_shutdown() {
            mailbox.close();
            return false;
        }
        match self.slots[index].token.clone() {
            Some(token) => mailbox.close_draining(token),
            None => mailbox.close(),
        }
        true
    }

    /// Kills the child if its stop, issued at `now` in a wave, has not ended by `now + limit`:
    /// in the batch of the last stop with that deadline, or in a new one with its own timer.
    /// A batch lives until its deadline (16 bytes per member), whoever has exited by then.
    fn kill_after(&mut self, index: usize, limit: Duration, now: Instant) {
        // Validated against `MAX_DURATION` already; a deadline past the clock's range would
        // never come, so there is nothing to schedule.
        let Some(deadline) = now.checked_add(limit.min(MAX_DURATION)) else {
            return;
        };
        let member = (index, self.slots[index].attempt);
        let last = self.last_kill.and_then(|id| self.kills.get_mut(id));
        if let Some(batch) = last
            && batch.deadline == deadline
        {
            batch.members.push(member);
            return;
        }
        let id = self.kills.insert(KillBatch {
            deadline,
            members: vec![member],
        });
        self.timers.insert_at(Due::Kill(id), deadline);
        self.last_kill = Some(id);
    }

    /// A batch's deadline passed: those of its children still stopping the same attempt are
    /// killed.
    pub(super) fn on_kill_deadline(&mut self, batch: usize) {
        let Some(KillBatch { members, deadline }) = self.kills.remove(batch) else {
            return;
        };
        if self.last_kill == Some(batch) {
            self.last_kill = None;
        }
        for (index, attempt) in members {
            let stopping = self.slots.get(index).is_some_and(|slot| {
                slot.attempt == attempt
                    && slot.task.is_some()
                    && slot.stop.as_ref().is_some_and(|stop| stop.issued)
            });
            if stopping {
                self.kill_at(index, Some(deadline));
            }
        }
    }

    /// Stage 3 for one child: abort it. A nested supervisor aborts its own children and still
    /// reconciles. A blocking worker cannot be aborted: at shutdown its task is detached (and
    /// reported); for a restart its thread is waited for, so that two attempts never overlap.
    pub(super) fn kill(&mut self, index: usize) {
        self.kill_at(index, None);
    }

    /// [`kill`](Self::kill) at `now`, when the caller knows it (a wave, a batch deadline):
    /// a whole wave's aborts then share one abort-wait batch without reading the clock each.
    fn kill_at(&mut self, index: usize, now: Option<Instant>) {
        let Some(stop) = &mut self.slots[index].stop else {
            return;
        };
        if stop.killed {
            return;
        }
        stop.killed = true;
        let purpose = stop.purpose;
        if self.slots[index].task.is_none() {
            return;
        }
        if self.is_blocking(index) && purpose != StopPurpose::Shutdown {
            self.leave_thread_running(index, "did not stop in time");
            return;
        }
        if self.is_blocking(index) {
            tracing::warn!(path = %self.child_path(index), "blocking worker did not stop in time; detaching it");
        } else {
            tracing::warn!(path = %self.child_path(index), "did not stop in time; aborting");
        }
        self.abort_attempt(index);
        let worker = !self.is_blocking(index) && self.slots[index].nested.is_none();
        if purpose == StopPurpose::Shutdown && worker {
            let now = now.unwrap_or_else(Instant::now);
            self.detach_after(index, self.spec.abort_wait, now);
        }
    }

    /// Gives up on the aborted worker if its task is not gone `wait` after `now`: it joins the
    /// last abort-wait batch whose deadline is at least that far (up to 1 ms later), or opens
    /// a new one with its own timer. A batch is a number on its members' stops, no list: a
    /// whole wave's aborts cost one timer, and a batch is only looked at if its deadline
    /// comes before the tree has ended (a task stuck inside a poll).
    fn detach_after(&mut self, index: usize, wait: Duration, now: Instant) {
        let Some(due) = now.checked_add(wait.min(MAX_DURATION)) else {
            return;
        };
        let joined = self.last_detach.filter(|&id| {
            self.detaches
                .get(id)
                .is_some_and(|&deadline| deadline >= due)
        });
        let id = match joined {
            Some(id) => id,
            None => {
                let deadline = due + Duration::from_millis(1);
                let id = self.detaches.insert(deadline);
                self.timers.insert_at(Due::Detach(id), deadline);
                self.last_detach = Some(id);
                id
            }
        };
        if let Some(stop) = &mut self.slots[index].stop {
            // Batches are few (one per abort instant); a number past u32 joins none.
            stop.abort_batch = u32::try_from(id).unwrap_or(NO_BATCH);
        }
    }

    /// An abort wait passed: those of its workers whose aborted attempt has still not ended
    /// (stuck inside a poll) are reported detached; shutdown goes on without them.
    pub(super) fn on_detach_deadline(&mut self, batch: usize) {
        if self.detaches.remove(batch).is_none() {
            return;
        }
        if self.last_detach == Some(batch) {
            self.last_detach = None;
        }
        let Ok(number) = u32::try_from(batch) else {
            return;
        };
        let stuck: Vec<usize> = (0..self.slots.len())
            .filter(|&index| {
                let slot = &self.slots[index];
                slot.task.is_some()
                    && slot
                        .stop
                        .as_ref()
                        .is_some_and(|stop| stop.abort_batch == number)
            })
            .collect();
        for index in stuck {
            if let Some(stop) = &mut self.slots[index].stop {
                stop.detached = true;
            }
            tracing::error!(
                path = %self.child_path(index),
                wait = ?self.spec.abort_wait,
                "aborted but still running after the abort wait (stuck inside a poll?); detaching it"
            );
            self.emit(Some(index), |_| EventKind::Detached);
            let exit = AttemptExit {
                index,
                generation: self.slots[index].generation,
                attempt: self.slots[index].attempt,
                outcome: None,
                abort_panic: None,
            };
            self.on_exit(exit);
        }
    }

    /// Aborts the child's attempt: a nested supervisor through its abort token (its loop
    /// aborts its children and ends normally), any other task directly.
    pub(super) fn abort_attempt(&mut self, index: usize) {
        if let Some(link) = &self.slots[index].nested
            && let Some(abort) = lock(&link.abort).as_ref()
        {
            abort.cancel();
            return;
        }
        if let Some(task) = &self.slots[index].task {
            task.abort();
        }
    }

    /// A blocking worker past a deadline: its thread cannot be stopped, so it is left to
    /// finish, shown as detached, and its next attempt waits for it.
    pub(super) fn leave_thread_running(&mut self, index: usize, why: &str) {
        tracing::warn!(
            path = %self.child_path(index),
            "blocking worker {why}; it cannot be aborted, so its next attempt waits for its thread"
        );
        self.slots[index].last_exit = Some(LastExit::Detached);
        self.emit(Some(index), |_| EventKind::Detached);
    }

    /// A second signal (or the parent killing this node): abort everything that is stopping,
    /// at once.
    pub(super) fn abort_all(&mut self) {
        self.aborting = true;
        let now = Instant::now();
        for index in 0..self.slots.len() {
            if let Some(stop) = &mut self.slots[index].stop {
                stop.issued = true;
                if let Some(token) = &self.slots[index].token {
                    token.cancel();
                }
                self.kill_at(index, Some(now));
            }
        }
    }

    /// A child in a stop wave exited (`exit` is `None` when it was aborted or detached).
    pub(super) fn on_stopped(&mut self, index: usize, stop: Stop, exit: Option<ExitKind>) {
        let outcome = match exit {
            None if self.is_blocking(index) || stop.detached => StopOutcome::Detached,
            None => StopOutcome::Aborted,
            // A nested supervisor that was killed ends normally, after aborting its children.
            Some(_) if stop.killed && self.slots[index].nested.is_some() => StopOutcome::Aborted,
            Some(_) => StopOutcome::Graceful,
        };
        let slot = &mut self.slots[index];
        let restart_requested = std::mem::take(&mut slot.restart_requested);
        slot.last_exit = Some(match outcome {
            StopOutcome::Graceful => LastExit::Stopped,
            StopOutcome::Detached => LastExit::Detached,
            _ => LastExit::Aborted,
        });
        if matches!(slot.phase, ServicePhase::Starting | ServicePhase::Running) {
            // Exited on its own before its stop was issued; it is stopped all the same.
            self.set_phase(index, ServicePhase::Stopping);
        }
        match stop.purpose {
            StopPurpose::Shutdown => {
                self.slots[index].stop_outcome = Some(outcome);
                let reason = match (outcome, exit) {
                    (StopOutcome::Detached, _) => TerminationReason::Detached,
                    (StopOutcome::Aborted, _) => TerminationReason::Aborted,
                    (_, Some(ExitKind::Completed) | None) => TerminationReason::Cancelled,
                    (_, Some(_)) => {
                        self.termination_reason(index, crate::policy::StopReason::Failed)
                    }
                };
                self.terminate(index, reason, false);
            }
            StopPurpose::Restart(group) => {
                self.stopped_for_restart(index, group, restart_requested)
            }
            StopPurpose::Unbind(dependency) => {
                let reason = self.dependency_terminated(dependency);
                self.terminate(index, reason, false);
            }
            StopPurpose::Remove => self.terminate(index, TerminationReason::Removed, false),
            StopPurpose::Hold(hold) => {
                self.set_phase(index, hold.phase());
                self.held(index, hold);
            }
        }
    }

    fn dependency_terminated(&self, dependency: usize) -> TerminationReason {
        TerminationReason::DependencyTerminated {
            dependency: self.child_spec(dependency).name.to_string(),
        }
    }

    /// `index` terminated for good: every child bound to it through `requires`, directly or
    /// not, ends too. Running ones are stopped in one wave (dependents first) and terminate
    /// when they have exited; the others terminate at once. Iterative, however long the chain.
    pub(super) fn unbind_dependents(&mut self, index: usize) {
        let mut pending = vec![index];
        let mut to_stop = Vec::new();
        while let Some(dependency) = pending.pop() {
            let layout = std::sync::Arc::clone(&self.spec.layout);
            for &dependent in layout.bound_dependents(dependency) {
                let temporary = self.child_spec(dependent).policy.restart == RestartPolicy::Never;
                let slot = &mut self.slots[dependent];
                match slot.phase {
                    ServicePhase::Starting | ServicePhase::Running | ServicePhase::Stopping => {
                        match &mut slot.stop {
                            // Reached already, through another dependency.
                            Some(stop) if matches!(stop.purpose, StopPurpose::Unbind(_)) => {
                                continue;
                            }
                            // A temporary child stopped with a restart scope ends anyway, as
                            // cancelled, however its stop and this one interleave; its own end
                            // then reaches its dependents.
                            Some(stop)
                                if matches!(stop.purpose, StopPurpose::Restart(_))
                                    && temporary
                                    && !slot.restart_requested =>
                            {
                                continue;
                            }
                            Some(stop) => stop.purpose = StopPurpose::Unbind(dependency),
                            None => {
                                slot.stop = Some(Stop {
                                    purpose: StopPurpose::Unbind(dependency),
                                    issued: false,
                                    killed: false,
                                    detached: false,
                                    abort_batch: NO_BATCH,
                                });
                                slot.cause = self.correlation;
                                to_stop.push(dependent);
                            }
                        }
                    }
                    ServicePhase::Waiting | ServicePhase::BackingOff => {
                        let reason = self.dependency_terminated(dependency);
                        self.terminate_quietly(dependent, reason);
                    }
                    // An operator's hold stays; a terminated child has ended already.
                    ServicePhase::Terminated | ServicePhase::Paused | ServicePhase::Quarantined => {
                        continue;
                    }
                }
                if let Some(group) = self.slots[dependent].group {
                    self.leave_group(dependent, group);
                }
                pending.push(dependent);
            }
        }
        self.issue_free_stops(to_stop.into_iter());
    }
}
