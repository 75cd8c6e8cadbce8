//! What happens when an attempt exits: the restart decision, restart groups, intensity,
//! termination and auto-shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Due, Failure, LastExit, Node, RestartGroup, StopPurpose};
use crate::error::{Escalation, EscalationReason};
use crate::model::{
    AutoShutdown, ChildKind, OnOpen, RestartPolicy, ServicePhase, Strategy, TerminationReason,
};
use crate::observe::EventKind;
use crate::observe::{FailureCause, FailureMessage};
use crate::policy::{BackoffParts, Decision, ExitKind, StopReason, decide, restart_scope};
use crate::runtime::attempt::{AttemptExit, Outcome};
use crate::runtime::shutdown_report::StopOutcome;
use crate::runtime::tree::{ShutdownCause, lock};

impl Node {
    pub(super) fn on_exit(&mut self, exit: AttemptExit) {
        let AttemptExit {
            index,
            generation,
            attempt,
            outcome,
            abort_panic,
        } = exit;
        let current = self.slots.get(index).is_some_and(|slot| {
            slot.generation == generation && slot.attempt == attempt && slot.task.is_some()
        });
        if !current {
            let detached = self.slots.get(index).is_some_and(|slot| {
                slot.generation == generation
                    && slot.attempt == attempt
                    && slot.last_exit == Some(LastExit::Detached)
            });
            // A detached attempt's task ending late is expected; anything else is a bug.
            if !detached {
                tracing::error!("internal error: an exited task belongs to no child");
            }
            return;
        }
        if let Some(message) = abort_panic {
            tracing::warn!(path = %self.child_path(index), %message, "panicked while being aborted");
        }
        let now = Instant::now();
        self.clear_timer(index);
        let slot = &mut self.slots[index];
        // A stopped child's exit belongs to what stopped it; an exit of its own is a new cause.
        let cause = slot.cause.take().filter(|_| slot.stop.is_some());
        match cause {
            Some(cause) => self.correlation = Some(cause),
            None => self.new_cause(),
        }
        self.set_task(index, None);
        let slot = &mut self.slots[index];
        slot.token = None;
        slot.stop_running_clock(now);
        if let Some(link) = &slot.nested {
            *lock(&link.abort) = None;
        }
        let outcome = match slot.missed_deadline.take() {
            Some(kind) => Some(Outcome::MissedDeadline(kind)),
            None => outcome,
        };
        let exit = outcome.map(|outcome| self.record_outcome(index, outcome));
        if let Some(stop) = self.slots[index].stop.take() {
            self.on_stopped(index, stop, exit);
        } else if let Some(exit) = exit {
            self.decide_after_exit(index, exit, now);
        } else {
            // Aborted without a stop: only a deadline does that, and it is recorded above.
            self.terminate(index, TerminationReason::Aborted, true);
        }
        self.release_stops_of_dependencies(index);
        self.release_if_done(index);
    }

    /// The restart decision for an attempt that ended on its own.
    fn decide_after_exit(&mut self, index: usize, exit: ExitKind, now: Instant) {
        let base = self.spec.children.len();
        let spec = match index.checked_sub(base) {
            None => self.spec.children.get(index),
            Some(extra) => self.extra.get(extra).and_then(Option::as_ref),
        };
        let Some(spec) = spec else {
            return;
        };
        let mut backoff = BackoffParts {
            config: &spec.policy.backoff,
            progress: &mut self.slots[index].backoff,
            rng: &mut self.rng,
        };
        match decide(
            exit,
            spec.policy.restart,
            false,
            &mut backoff,
            now.into_std(),
        ) {
            Decision::Restart(delay) => self.restart(index, exit, delay, now),
            Decision::Stop(reason @ StopReason::CircuitOpen { .. })
                if spec
                    .policy
                    .backoff
                    .circuit_breaker()
                    .is_some_and(|b| b.on_open == OnOpen::Escalate) =>
            {
                let open = self.termination_reason(index, reason);
                self.give_up(index, EscalationReason::CircuitBreakerOpened, open);
            }
            Decision::Stop(reason) => {
                let reason = self.termination_reason(index, reason);
                self.terminate(index, reason, true);
            }
        }
    }

    /// Keeps the failure, counts it, and classifies the exit.
    fn record_outcome(&mut self, index: usize, outcome: Outcome) -> ExitKind {
        let slot = &mut self.slots[index];
        let (exit, failure) = match outcome {
            Outcome::Returned(Ok(())) => (ExitKind::Completed, None),
            Outcome::Returned(Err(error)) => {
                (ExitKind::Failed(error.kind()), Some(Failure::error(error)))
            }
            Outcome::Panicked(message) => (ExitKind::Panicked, Some(Failure::panic(message))),
            Outcome::MissedDeadline(kind) => (ExitKind::TimedOut, Some(Failure::timeout(kind))),
        };
        slot.last_exit = Some(match exit {
            ExitKind::Completed => LastExit::Completed,
            _ => LastExit::Failed,
        });
        if let Some(failure) = failure {
            slot.shared.counters.failed(failure.kind());
            // The messages its attempt gave back unacknowledged carry the failure.
            if let Some(mailbox) = self.child_spec(index).mailbox() {
                mailbox.attempt_failed(&failure);
            }
            tracing::warn!(
                path = %self.child_path(index),
                attempt = self.slots[index].attempt,
                error = %failure.message(),
                "attempt failed"
            );
            self.slots[index].last_failure = Some(failure);
        }
        exit
    }

    /// A restart decision: check the intensity, then restart the child's whole scope as one
    /// group once every member has stopped and `delay` has passed.
    fn restart(&mut self, index: usize, exit: ExitKind, delay: Duration, now: Instant) {
        if let Some(window) = &mut self.intensity {
            window.record(now.into_std());
            if window.is_full() {
                let failed = self.termination_reason(index, StopReason::Failed);
                self.give_up(index, EscalationReason::IntensityExceeded, failed);
                return;
            }
        }
        // Restarted at once and alone (one_for_one, nothing bound to it): no group to wait
        // for, so none is made.
        let alone = delay.is_zero()
            && self.spec.strategy == Strategy::OneForOne
            && self.spec.layout.bound_dependents(index).is_empty();
        if alone {
            self.set_phase(index, ServicePhase::BackingOff);
            self.emit_backing_off(index, exit, delay);
            self.try_start(index);
            return;
        }
        let group = self.new_group(delay);
        // The failed child has exited already: only the others may need stopping.
        let to_stop = self.gather_scope(index, group, false);
        self.join_group(index, group);
        self.set_phase(index, ServicePhase::BackingOff);
        self.emit_backing_off(index, exit, delay);
        self.restart_wave(index, to_stop, group, None);
    }

    fn emit_backing_off(&self, index: usize, exit: ExitKind, delay: Duration) {
        let next_attempt = self.slots[index].attempt.saturating_add(1);
        self.emit(Some(index), |node| EventKind::BackingOff {
            next_attempt,
            delay,
            cause: match exit {
                ExitKind::Completed => None,
                _ => node.slots[index]
                    .last_failure
                    .as_ref()
                    .map(FailureMessage::of),
            },
        });
    }

    /// The restart scope of `index` (its strategy's, and the children bound to it): members
    /// waiting or stopping join `group` now; the live ones (`index` itself only if
    /// `with_itself`) are returned, to be stopped.
    pub(super) fn gather_scope(
        &mut self,
        index: usize,
        group: usize,
        with_itself: bool,
    ) -> Vec<usize> {
        let scope = restart_scope(
            self.spec.strategy,
            index,
            self.slots.len(),
            |i| self.rank(i),
            |i| self.spec.layout.bound_dependents(i),
        );
        let mut to_stop = Vec::new();
        for member in scope {
            if member == index && !with_itself {
                continue;
            }
            match self.slots[member].phase {
                ServicePhase::Starting | ServicePhase::Running => to_stop.push(member),
                ServicePhase::Stopping | ServicePhase::BackingOff | ServicePhase::Waiting => {
                    self.join_group(member, group);
                }
                // Ended, or held by an operator: they stay as they are.
                ServicePhase::Terminated | ServicePhase::Paused | ServicePhase::Quarantined => {}
            }
        }
        to_stop
    }

    /// Stops `to_stop` in one wave into `group` (announced as the scope of `cause`, a failure
    /// or a `restart_child` command), to start again together once all have exited.
    pub(super) fn restart_wave(
        &mut self,
        cause: usize,
        to_stop: Vec<usize>,
        group: usize,
        command: Option<u64>,
    ) {
        if to_stop.iter().any(|&m| m != cause) {
            let failed = self.child_path(cause);
            self.emit(None, |node| EventKind::RestartScope {
                failed,
                restarting: to_stop
                    .iter()
                    .filter(|&&m| m != cause)
                    .map(|&m| node.child_path(m))
                    .collect(),
                command,
            });
        }
        for &member in &to_stop {
            self.join_group(member, group);
        }
        self.stop_wave(&to_stop, StopPurpose::Restart(group));
        self.maybe_release(group);
    }

    /// A group whose members restart no earlier than `delay` from now.
    pub(super) fn new_group(&mut self, delay: std::time::Duration) -> usize {
        let id = self.groups.insert(RestartGroup {
            members: Vec::new(),
            cause: self.correlation,
            delay_passed: delay.is_zero(),
            timer: None,
        });
        if !delay.is_zero() {
            let timer = self.insert_timer(Due::Group(id), delay);
            if let Some(group) = self.groups.get_mut(id) {
                group.timer = Some(timer);
            }
        }
        id
    }

    /// Puts a child into `group`; a child already in another group brings that whole group
    /// along (its members, its pending stops and its delay).
    pub(super) fn join_group(&mut self, member: usize, group: usize) {
        match self.slots[member].group {
            Some(current) if current == group => {}
            Some(other) => {
                let Some(old) = self.groups.remove(other) else {
                    return;
                };
                if let Some(key) = old.timer {
                    // The merged group waits for the later of the two delays.
                    let old_deadline = self.timers.deadline(&key);
                    self.timers.remove(&key);
                    self.wait_at_least_until(group, old_deadline);
                }
                for &m in &old.members {
                    self.slots[m].group = Some(group);
                    if let Some(stop) = &mut self.slots[m].stop {
                        stop.purpose = StopPurpose::Restart(group);
                    }
                }
                if let Some(g) = self.group_mut(group) {
                    g.members.extend(old.members);
                }
            }
            None => {
                self.slots[member].group = Some(group);
                if let Some(g) = self.group_mut(group) {
                    g.members.push(member);
                }
            }
        }
    }

    /// Makes `group` wait until at least `deadline`.
    fn wait_at_least_until(&mut self, group: usize, deadline: Instant) {
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        match g.timer {
            Some(key) if self.timers.deadline(&key) < deadline => {
                self.timers.reset_at(&key, deadline);
            }
            Some(_) => {}
            None if deadline > Instant::now() => {
                g.timer = Some(self.timers.insert_at(Due::Group(group), deadline));
                g.delay_passed = false;
            }
            None => {}
        }
    }

    /// Starts the group's members again, in startup order, once none of them has a live task
    /// and the delay has passed. Derived from the members' slots each time, so waves that
    /// merged while stops were pending cannot leave a group waiting for ever.
    pub(super) fn maybe_release(&mut self, group: usize) {
        let ready = self.groups.get(group).is_some_and(|g| {
            g.delay_passed && g.members.iter().all(|&m| self.slots[m].task.is_none())
        });
        if !ready {
            return;
        }
        let Some(released) = self.groups.remove(group) else {
            return;
        };
        for &member in &released.members {
            self.slots[member].group = None;
        }
        // The restarts belong to the failure (or command) that made the group.
        let handling = self.correlation;
        self.correlation = released.cause.or(handling);
        self.try_start_all(released.members);
        self.correlation = handling;
    }

    /// A member of a restart group stopped.
    pub(super) fn stopped_for_restart(&mut self, index: usize, group: usize, requested: bool) {
        if self.child_spec(index).policy.restart == RestartPolicy::Never && !requested {
            // OTP: a temporary child is not restarted, not even with its siblings; being
            // stopped by its supervisor is not its own exit, so it never triggers auto-shutdown.
            self.leave_group(index, group);
            self.terminate(index, TerminationReason::Cancelled, false);
        } else {
            self.set_phase(index, ServicePhase::BackingOff);
        }
        self.maybe_release(group);
    }

    pub(super) fn leave_group(&mut self, index: usize, group: usize) {
        self.slots[index].group = None;
        if let Some(g) = self.group_mut(group) {
            g.members.retain(|&m| m != index);
        }
    }

    /// The intensity was exceeded, or an escalating breaker opened: the child ends with
    /// `terminated`, then everything stops and the supervisor fails.
    fn give_up(&mut self, index: usize, reason: EscalationReason, terminated: TerminationReason) {
        let (max_restarts, within, what) = match reason {
            EscalationReason::CircuitBreakerOpened => {
                let breaker = self.child_spec(index).policy.backoff.circuit_breaker();
                let (max, window) =
                    breaker.map_or((0, Duration::ZERO), |b| (b.max_failures, b.window));
                (
                    max,
                    window,
                    "circuit breaker opened (on_open = escalate) in",
                )
            }
            _ => {
                let intensity = self.spec.intensity.unwrap_or_default();
                (
                    intensity.max_restarts,
                    intensity.within,
                    "restart intensity exceeded by",
                )
            }
        };
        let slot = &self.slots[index];
        let escalation = Escalation {
            supervisor: self.path.to_string(),
            child: self.child_path(index).to_string(),
            child_failures: slot.shared.counters.failures(),
            max_restarts,
            within,
            cause: slot
                .last_failure
                .as_ref()
                .map_or_else(|| "exited".to_owned(), |f| f.message().to_owned()),
            reason,
        };
        tracing::error!(%escalation, "supervisor gives up");
        self.emit(None, |_| EventKind::Escalated(Box::new(escalation.clone())));
        self.terminate(index, terminated, false);
        let cause = ShutdownCause {
            requested_by: self.path.to_string(),
            reason: format!("{what} `{}`", escalation.child),
        };
        self.failure = Some(escalation);
        self.begin_shutdown(cause);
    }

    /// The reason a stop decision records; a failed exit's reason comes from its payload.
    pub(super) fn termination_reason(&self, index: usize, reason: StopReason) -> TerminationReason {
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
                    Some(failure) => match &failure.cause {
                        FailureCause::Error(error) => TerminationReason::Failed(error.summary()),
                        FailureCause::Panic => {
                            TerminationReason::Panicked(failure.message().to_owned())
                        }
                        FailureCause::Timeout(kind) => TerminationReason::TimedOut(*kind),
                    },
                    // A failed exit always records its failure before deciding.
                    None => TerminationReason::Aborted,
                }
            }
        }
    }

    /// Ends the child for good, and the children bound to it. Only its `own_exit` counts for
    /// auto-shutdown, never a stop its supervisor caused (OTP).
    pub(super) fn terminate(&mut self, index: usize, reason: TerminationReason, own_exit: bool) {
        let normal = reason.is_clean();
        self.terminate_quietly(index, reason);
        if self.shutdown.is_none() {
            self.unbind_dependents(index);
            if own_exit {
                self.check_auto_shutdown(index, normal);
            }
        }
    }

    /// Marks the child terminated, without consequences for its siblings.
    pub(super) fn terminate_quietly(&mut self, index: usize, reason: TerminationReason) {
        let breaker_opened = matches!(reason, TerminationReason::CircuitBreakerOpen { .. });
        if breaker_opened {
            tracing::error!(path = %self.child_path(index), %reason, "circuit breaker open");
        }
        self.set_phase(index, ServicePhase::Terminated);
        self.slots[index].termination = Some(reason.clone());
        // Ended for good, not stopped with its supervisor (whose restart brings it back):
        // its mailboxes refuse messages, for now if it is ever started again, for good if
        // the tree is ending.
        let ending = self.tree.ending.load(std::sync::atomic::Ordering::Acquire);
        let path = self.child_path(index);
        if self.shutdown.is_none() {
            let mut dead = Vec::new();
            self.child_spec(index).each_mailbox(|mailbox| {
                if !crate::mailbox::consumed_within(mailbox.as_ref(), &path) {
                    return;
                }
                let count = mailbox.orphan(reason.clone());
                if count > 0 {
                    dead.push((Arc::from(mailbox.name()), count));
                }
            });
            // In the dead letters' own words.
            let why = crate::mailbox::DeadLetterReason::ConsumerTerminated(reason.clone());
            for (mailbox, count) in dead {
                self.emit(Some(index), |_| EventKind::DeadLettered {
                    mailbox,
                    count,
                    reason: why.to_string(),
                });
            }
        } else if ending {
            self.child_spec(index).each_mailbox(|mailbox| {
                if crate::mailbox::consumed_within(mailbox.as_ref(), &path) {
                    mailbox.close();
                }
            });
        }
        self.tree.metrics.service_terminated(breaker_opened);
        if breaker_opened {
            self.slots[index].shared.counters.breaker_tripped();
        }
        self.emit(Some(index), |_| EventKind::Terminated(reason));
    }

    /// OTP's auto_shutdown: a significant child that terminated normally (any termination
    /// for a `never` child) may end the supervisor.
    fn check_auto_shutdown(&mut self, index: usize, normal: bool) {
        let spec = self.child_spec(index);
        let counts = spec.policy.significant
            && match spec.policy.restart {
                RestartPolicy::Never => true,
                RestartPolicy::OnFailure => normal,
                RestartPolicy::Always => false,
            };
        let ends = counts
            && match self.spec.auto_shutdown {
                AutoShutdown::Never => false,
                AutoShutdown::AnySignificant => true,
                AutoShutdown::AllSignificant => (0..self.slots.len()).all(|i| {
                    !self.child_spec(i).policy.significant
                        || self.slots[i].phase == ServicePhase::Terminated
                }),
            };
        if ends {
            let cause = ShutdownCause {
                requested_by: self.path.to_string(),
                reason: format!(
                    "auto-shutdown: significant child `{}` terminated",
                    self.child_spec(index).name
                ),
            };
            self.begin_shutdown(cause);
        }
    }

    /// Records a never-started child added during shutdown.
    pub(super) fn terminate_unstarted(&mut self, index: usize) {
        self.slots[index].stop_outcome = Some(StopOutcome::NotRunning);
        self.terminate(index, TerminationReason::Cancelled, false);
    }

    pub(super) fn is_blocking(&self, index: usize) -> bool {
        self.child_spec(index).kind() == ChildKind::Blocking
    }
}
