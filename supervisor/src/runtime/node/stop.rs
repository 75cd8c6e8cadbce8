//! Stopping children: dependents before their dependencies, each per its shutdown policy.

use tokio::time::Instant;

use super::{ChildDue, LastExit, Node, Stop, StopPurpose};
use crate::model::{ServicePhase, ShutdownPolicy, TerminationReason};
use crate::observe::EventKind;
use crate::policy::ExitKind;
use crate::runtime::shutdown_report::StopOutcome;
use crate::runtime::tree::ShutdownCause;

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
        for group in std::mem::take(&mut self.groups).into_iter().flatten() {
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
                    if let Some(stop) = &mut self.slots[index].stop {
                        stop.purpose = StopPurpose::Shutdown;
                    }
                }
                ServicePhase::Waiting | ServicePhase::BackingOff => {
                    self.terminate_unstarted(index);
                }
                ServicePhase::Terminated => {}
            }
        }
        self.stop_wave(&running, StopPurpose::Shutdown);
        if self.tree.abort_now.is_cancelled() {
            self.abort_all();
        }
    }

    /// Stops `members`: each is cancelled once every dependent of it that is still alive has
    /// exited, newest first (reverse startup order) among those free to go.
    pub(super) fn stop_wave(&mut self, members: &[usize], purpose: StopPurpose) {
        for &member in members {
            self.slots[member].stop = Some(Stop {
                purpose,
                blockers: 0,
                issued: false,
                killed: false,
            });
        }
        for &member in members {
            let blockers = self
                .dependents(member)
                .iter()
                .filter(|&&d| self.slots[d].task.is_some() && self.slots[d].stop.is_some())
                .count() as u32;
            if let Some(stop) = &mut self.slots[member].stop {
                stop.blockers = blockers;
            }
        }
        let mut free: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&m| self.slots[m].stop.as_ref().is_some_and(|s| s.blockers == 0))
            .collect();
        free.sort_by_key(|&m| std::cmp::Reverse(self.rank(m)));
        for member in free {
            self.issue_stop(member);
        }
    }

    fn issue_stop(&mut self, index: usize) {
        let Some(stop) = &mut self.slots[index].stop else {
            return;
        };
        if stop.issued {
            return;
        }
        stop.issued = true;
        if let Some(token) = &self.slots[index].token {
            token.cancel();
        }
        self.clear_timer(index);
        self.set_phase(index, ServicePhase::Stopping);
        match self.shutdown_policy(index) {
            ShutdownPolicy::BrutalKill => self.kill(index),
            ShutdownPolicy::Timeout(limit) => self.set_timer(index, ChildDue::Kill, limit),
            ShutdownPolicy::Infinity => {}
        }
        if self.tree.abort_now.is_cancelled() && self.shutdown.is_some() {
            self.kill(index);
        }
    }

    /// Stage 3 for one child: abort it; a blocking worker cannot be aborted, so its task is
    /// detached (and reported) instead of waited for.
    pub(super) fn kill(&mut self, index: usize) {
        let Some(stop) = &mut self.slots[index].stop else {
            return;
        };
        if stop.killed {
            return;
        }
        stop.killed = true;
        let Some(task) = self.slots[index].task.clone() else {
            return;
        };
        if self.is_blocking(index) {
            tracing::warn!(path = %self.child_path(index), "blocking worker did not stop in time; detaching it");
        } else {
            tracing::warn!(path = %self.child_path(index), "did not stop in time; aborting");
        }
        task.abort();
    }

    /// A second signal: abort everything that is stopping, at once.
    pub(super) fn abort_all(&mut self) {
        self.aborting = true;
        for index in 0..self.slots.len() {
            if self.slots[index].stop.is_some() {
                if let Some(stop) = &mut self.slots[index].stop {
                    stop.issued = true;
                }
                if let Some(token) = &self.slots[index].token {
                    token.cancel();
                }
                self.kill(index);
            }
        }
    }

    /// A child in a stop wave exited (`exit` is `None` when it was aborted or detached).
    pub(super) fn on_stopped(
        &mut self,
        index: usize,
        purpose: StopPurpose,
        exit: Option<ExitKind>,
    ) {
        let killed_blocking = exit.is_none() && self.is_blocking(index);
        let outcome = match exit {
            Some(_) => StopOutcome::Graceful,
            None if killed_blocking => StopOutcome::Detached,
            None => StopOutcome::Aborted,
        };
        let slot = &mut self.slots[index];
        slot.last_exit = Some(match outcome {
            StopOutcome::Graceful => LastExit::Stopped,
            StopOutcome::Detached => LastExit::Detached,
            _ => LastExit::Aborted,
        });
        if self.phase_is(index, ServicePhase::Starting)
            || self.phase_is(index, ServicePhase::Running)
        {
            // Exited on its own before its stop was issued; it is stopped all the same.
            self.set_phase(index, ServicePhase::Stopping);
        }
        match purpose {
            StopPurpose::Shutdown => {
                self.slots[index].stop_outcome = Some(outcome);
                if let Some(link) = &self.slots[index].nested
                    && let Some((_, report)) = super::super::tree::lock(&link.last_run).as_ref()
                {
                    self.nested_reports.push((index, report.clone()));
                }
                let reason = match (outcome, exit) {
                    (StopOutcome::Detached, _) => TerminationReason::Detached,
                    (StopOutcome::Aborted, _) => TerminationReason::Aborted,
                    (_, Some(ExitKind::Completed) | None) => TerminationReason::Cancelled,
                    (_, Some(_)) => {
                        self.termination_reason(index, crate::policy::StopReason::Failed)
                    }
                };
                self.terminate(index, reason);
            }
            StopPurpose::Restart(group) => self.stopped_for_restart(index, group),
        }
        // Its dependencies may go now.
        let dependencies: Vec<usize> = self.dependencies(index).to_vec();
        for dependency in dependencies {
            let free = match &mut self.slots[dependency].stop {
                Some(stop) if !stop.issued => {
                    stop.blockers = stop.blockers.saturating_sub(1);
                    stop.blockers == 0
                }
                _ => false,
            };
            if free {
                self.issue_stop(dependency);
            }
        }
    }

    fn phase_is(&self, index: usize, phase: ServicePhase) -> bool {
        self.slots[index].phase == phase
    }
}
