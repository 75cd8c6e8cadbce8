//! Operator commands, applied by the node that owns the target child (or forwarded down to
//! it): routing, then restart, pause / resume, quarantine / release (additions and removals
//! are in `dynamic`).

use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::error::SendError;

use super::{NO_BATCH, Node, Stop, StopPurpose};
use crate::error::{CommandError, closest};
use crate::model::{ChildKind, ServicePhase, TerminationReason};
use crate::observe::EventKind;
use crate::policy::BackoffProgress;
use crate::runtime::NodeMessage;
use crate::runtime::command::{Action, Command, CommandAudit, CommandRequest, Reply};
use crate::runtime::tree::lock;

/// Why a command stops a child, and where the child ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Paused: not restarted until resumed.
    Pause,
    /// Quarantined: not restarted until released, and no longer holding back `after`
    /// dependents.
    Quarantine,
    /// A child that requires a paused or quarantined one: waits until it runs again.
    Wait,
}

impl Hold {
    pub(super) fn phase(self) -> ServicePhase {
        match self {
            Hold::Pause => ServicePhase::Paused,
            Hold::Quarantine => ServicePhase::Quarantined,
            Hold::Wait => ServicePhase::Waiting,
        }
    }
}

enum Route {
    /// A child of this node (or this node itself, for a supervisor target: `None`).
    Here(Option<usize>),
    Below(tokio::sync::mpsc::UnboundedSender<NodeMessage>),
}

impl Node {
    pub(super) fn on_command(&mut self, mut request: CommandRequest) {
        if self.shutdown.is_some() {
            return request.answer(Err(CommandError::ShuttingDown));
        }
        let wants_supervisor = request.action.targets_a_supervisor();
        match self.route(&request.target, wants_supervisor) {
            Ok(Route::Here(at)) => {
                let action = std::mem::replace(&mut request.action, Action::Count);
                let result = match (action, at) {
                    (Action::OnChild(command), Some(index)) => self.apply(index, command, &request),
                    (Action::Add(spec), _) => self.add_by_command(*spec, Command::Add, &request),
                    (Action::StartChild(args), _) => self.start_pool_child(args, &request),
                    (Action::Count, _) => Ok(Reply::Counts(self.counts())),
                    // `route` gives an index for a child target, none for a supervisor one.
                    (Action::OnChild(_), None) => Err(CommandError::NotAChild {
                        path: request.target.clone(),
                    }),
                };
                request.answer(result);
            }
            Ok(Route::Below(inbox)) => {
                if let Err(SendError(NodeMessage::Command(request))) =
                    inbox.send(NodeMessage::Command(Box::new(request)))
                {
                    // That node has just ended: the caller learns it was interrupted.
                    let path = request.target.clone();
                    request.answer(Err(CommandError::Interrupted { path }));
                }
            }
            Err(error) => request.answer(Err(error)),
        }
    }

    /// The child of this node the target is (or this node, for a supervisor target), or the
    /// nested node to pass the request to.
    fn route(&self, target: &str, wants_supervisor: bool) -> Result<Route, CommandError> {
        if wants_supervisor && target == &*self.path {
            return Ok(Route::Here(None));
        }
        let unknown = |suggestion| CommandError::UnknownPath {
            path: target.to_owned(),
            suggestion,
        };
        let rest = target
            .strip_prefix(&*self.path)
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(|| unknown(None))?;
        let (name, below) = match rest.split_once('/') {
            Some((name, below)) => (name, Some(below)),
            None => (rest, None),
        };
        let Some(index) = self.index_of(name) else {
            let names = lock(&self.names);
            let suggestion = closest(name, names.keys().map(|n| &**n)).map(|close| {
                let below = below.map(|b| format!("/{b}")).unwrap_or_default();
                format!("{}/{close}{below}", self.path)
            });
            return Err(unknown(suggestion));
        };
        if below.is_none() && !wants_supervisor {
            return Ok(Route::Here(Some(index)));
        }
        if self.child_spec(index).kind() != ChildKind::Supervisor {
            return Err(match below {
                Some(_) => unknown(None),
                None => CommandError::NotASupervisor {
                    path: target.to_owned(),
                },
            });
        }
        let slot = &self.slots[index];
        match slot.nested.as_ref().and_then(|link| link.inbox()) {
            Some(inbox) if slot.phase.is_alive() => Ok(Route::Below(inbox)),
            _ => Err(CommandError::SupervisorNotRunning {
                supervisor: self.child_path(index).to_string(),
                phase: slot.phase,
            }),
        }
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        // A name reserved for a `spawn_service` still on its way has no slot yet.
        lock(&self.names)
            .get(name)
            .copied()
            .filter(|&index| index < self.slots.len())
    }

    /// Checks the command against the child's phase; if it applies, records it (audit event)
    /// and carries it out.
    fn apply(
        &mut self,
        index: usize,
        command: Command,
        request: &CommandRequest,
    ) -> Result<Reply, CommandError> {
        use ServicePhase::*;
        let phase = self.slots[index].phase;
        let refuse = |hint| {
            Err(CommandError::NotAllowed {
                path: request.target.clone(),
                phase,
                hint,
            })
        };
        let removing =
            matches!(&self.slots[index].stop, Some(stop) if stop.purpose == StopPurpose::Remove);
        let changes = match (command, phase) {
            (Command::Restart, Quarantined) => {
                return refuse("`release_child` starts it again");
            }
            (Command::Pause, Terminated) => {
                return refuse("`restart_child` starts it again");
            }
            (Command::Pause, Quarantined) => {
                return refuse("`release_child` it first");
            }
            (Command::Remove, _) if index < self.spec.children.len() => {
                return refuse("a declared child cannot be removed; pause or quarantine it");
            }
            (_, _) if removing && command != Command::Remove => {
                return refuse("it is being removed");
            }
            (Command::Remove, _) => !removing,
            (Command::Restart, Waiting)
            | (Command::Pause, Paused)
            | (Command::Quarantine, Quarantined) => false,
            (Command::Resume, other) => other == Paused,
            (Command::Release, other) => other == Quarantined,
            _ => true,
        };
        self.audit(index, command, request, request.target.clone());
        if changes {
            match command {
                Command::Restart => self.restart_now(index, request.id),
                Command::Pause => self.hold(index, Hold::Pause),
                Command::Quarantine => self.hold(index, Hold::Quarantine),
                Command::Resume | Command::Release => self.wake(index),
                Command::Remove => self.remove(index),
                Command::Add | Command::StartChild => {}
            }
        }
        Ok(request.receipt(request.target.clone(), self.slots[index].phase, changes))
    }

    pub(super) fn audit(
        &self,
        index: usize,
        command: Command,
        request: &CommandRequest,
        target: String,
    ) {
        tracing::info!(
            path = %target,
            %command,
            command_id = request.id,
            requested_by = %request.requested_by,
            reason = %request.reason,
            "command accepted"
        );
        self.emit(Some(index), |_| {
            EventKind::Command(Box::new(CommandAudit {
                command_id: request.id,
                command,
                target,
                requested_by: request.requested_by.clone(),
                reason: request.reason.clone(),
                accepted_at: SystemTime::now(),
            }))
        });
    }

    /// `restart_child`: a running child restarts with its strategy's scope, at once; one
    /// waiting out a delay starts now; a terminated or paused one starts again.
    fn restart_now(&mut self, index: usize, command: u64) {
        match self.slots[index].phase {
            ServicePhase::Starting | ServicePhase::Running => {
                self.restart_scope_now(index, command)
            }
            ServicePhase::Stopping => {
                self.slots[index].restart_requested = true;
                let group = match self.slots[index].stop.as_ref().map(|s| s.purpose) {
                    Some(StopPurpose::Restart(group)) => group,
                    _ => {
                        let group = self.new_group(Duration::ZERO);
                        self.join_group(index, group);
                        if let Some(stop) = &mut self.slots[index].stop {
                            stop.purpose = StopPurpose::Restart(group);
                        }
                        group
                    }
                };
                self.end_delay(group);
            }
            ServicePhase::BackingOff => match self.slots[index].group {
                Some(group) => self.end_delay(group),
                None => self.try_start(index),
            },
            ServicePhase::Terminated => {
                self.revive(index);
                self.try_start(index);
            }
            ServicePhase::Paused => self.wake(index),
            ServicePhase::Waiting | ServicePhase::Quarantined => {}
        }
    }

    /// Stops the running child and its restart scope in one wave, to start again together
    /// as soon as all have exited.
    fn restart_scope_now(&mut self, index: usize, command: u64) {
        let group = self.new_group(Duration::ZERO);
        self.slots[index].restart_requested = true;
        let to_stop = self.gather_scope(index, group, true);
        self.restart_wave(index, to_stop, group, Some(command));
    }

    /// The group's delay is over now.
    fn end_delay(&mut self, group: usize) {
        if let Some(g) = self.group_mut(group) {
            g.delay_passed = true;
            if let Some(key) = g.timer.take() {
                self.timers.remove(&key);
            }
        }
        self.maybe_release(group);
    }

    /// `pause_child` / `quarantine_child`: the child stops and stays put; children that
    /// require it (directly or not) stop and wait for it.
    fn hold(&mut self, index: usize, hold: Hold) {
        let mut to_stop = Vec::new();
        for dependent in self.bound_closure(index) {
            if self.hold_one(dependent, Hold::Wait) {
                to_stop.push(dependent);
            }
        }
        if self.hold_one(index, hold) {
            to_stop.push(index);
        }
        self.issue_free_stops(to_stop.into_iter());
    }

    /// Takes one child toward `hold`: a live attempt gets a pending stop (returns `true`:
    /// it joins the wave), a stopping one has its stop repurposed, any other moves at once.
    fn hold_one(&mut self, index: usize, hold: Hold) -> bool {
        if let Some(group) = self.slots[index].group {
            self.leave_group(index, group);
        }
        match self.slots[index].phase {
            ServicePhase::Starting | ServicePhase::Running => {
                self.slots[index].stop = Some(Stop {
                    purpose: StopPurpose::Hold(hold),
                    issued: false,
                    killed: false,
                    detached: false,
                    abort_batch: NO_BATCH,
                });
                self.slots[index].cause = self.correlation;
                true
            }
            ServicePhase::Stopping => {
                if let Some(stop) = &mut self.slots[index].stop {
                    stop.purpose = StopPurpose::Hold(hold);
                }
                self.slots[index].cause = self.correlation;
                false
            }
            ServicePhase::Terminated | ServicePhase::Quarantined if hold == Hold::Wait => false,
            ServicePhase::Paused if hold == Hold::Wait => false,
            ServicePhase::Waiting if hold == Hold::Wait => false,
            _ => {
                self.clear_timer(index);
                self.set_phase(index, hold.phase());
                self.held(index, hold);
                false
            }
        }
    }

    /// A child reached the phase of `hold`.
    pub(super) fn held(&mut self, index: usize, hold: Hold) {
        match hold {
            // Its dependency may be back already.
            Hold::Wait => self.try_start(index),
            Hold::Pause => {}
            // It no longer holds back the children ordered after it.
            Hold::Quarantine => {
                let layout = std::sync::Arc::clone(&self.spec.layout);
                self.try_start_all(layout.dependents(index).iter().copied());
            }
        }
    }

    /// Every child bound to `index` through `requires`, directly or not, each once.
    fn bound_closure(&self, index: usize) -> Vec<usize> {
        let mut seen = vec![false; self.slots.len()];
        let mut pending = vec![index];
        let mut found = Vec::new();
        while let Some(next) = pending.pop() {
            for &dependent in self.spec.layout.bound_dependents(next) {
                if let Some(flag) = seen.get_mut(dependent)
                    && !*flag
                {
                    *flag = true;
                    found.push(dependent);
                    pending.push(dependent);
                }
            }
        }
        found
    }

    /// `resume_child` / `release_child`: waiting again, started once its dependencies run.
    fn wake(&mut self, index: usize) {
        self.set_phase(index, ServicePhase::Waiting);
        self.try_start(index);
    }

    /// A terminated child becomes due again, with a fresh breaker and backoff.
    pub(super) fn revive(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.termination = None;
        slot.stop_outcome = None;
        slot.backoff = BackoffProgress::default();
        self.set_phase(index, ServicePhase::Waiting);
    }

    /// `index` runs: children that were stopped for good because a requirement terminated
    /// come back, once none of their requirements is still terminated (derived from the
    /// phases, not from which requirement happened to stop them).
    pub(super) fn revive_bound_dependents(&mut self, index: usize) {
        let layout = std::sync::Arc::clone(&self.spec.layout);
        for &dependent in layout.bound_dependents(index) {
            let slot = &self.slots[dependent];
            let unbound = slot.phase == ServicePhase::Terminated
                && matches!(
                    slot.termination,
                    Some(TerminationReason::DependencyTerminated { .. })
                );
            let requirements_back = layout
                .dependencies(dependent)
                .iter()
                .filter(|&&r| layout.bound_dependents(r).contains(&dependent))
                .all(|&r| self.slots[r].phase != ServicePhase::Terminated);
            if unbound && requirements_back {
                self.revive(dependent);
            }
        }
    }
}
