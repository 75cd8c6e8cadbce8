//! Operator commands: what a handle sends to the node that owns the target, and what comes
//! back. A command is a message to that node's loop, never shared state.

use std::any::Any;
use std::fmt;
use std::time::SystemTime;

use tokio::sync::oneshot;

use crate::error::CommandError;
use crate::model::ServicePhase;
use crate::spec::ChildSpec;

/// What a command did, as its target's supervisor accepted it. Commands return once accepted,
/// not once their effect is complete: a pause of a running child answers `Running` (its stop
/// waits for the children that require it) or `Stopping`, and its `Paused` follows as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReceipt {
    /// Unique within the tree; the audit event carries it too.
    pub command_id: u64,
    /// The child the command was about.
    pub path: String,
    /// The child's phase right after the command was applied.
    pub phase: ServicePhase,
    /// `false` when the child already was where the command would take it (a repeated
    /// command): nothing was done.
    pub changed: bool,
}

/// Which command, in an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command {
    /// [`restart_child`](crate::SupervisorHandle::restart_child).
    Restart,
    /// [`pause_child`](crate::SupervisorHandle::pause_child).
    Pause,
    /// [`resume_child`](crate::SupervisorHandle::resume_child).
    Resume,
    /// [`quarantine_child`](crate::SupervisorHandle::quarantine_child).
    Quarantine,
    /// [`release_child`](crate::SupervisorHandle::release_child).
    Release,
    /// [`remove_child`](crate::SupervisorHandle::remove_child).
    Remove,
    /// [`add_child`](crate::SupervisorHandle::add_child).
    Add,
    /// [`start_child`](crate::SupervisorHandle::start_child).
    StartChild,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::Restart => "restart",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Quarantine => "quarantine",
            Command::Release => "release",
            Command::Remove => "remove",
            Command::Add => "add",
            Command::StartChild => "start child",
        })
    }
}

/// The audit record of an accepted command, in [`EventKind::Command`](crate::EventKind::Command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandAudit {
    /// As in the [`CommandReceipt`].
    pub command_id: u64,
    /// Which command.
    pub command: Command,
    /// The child's path.
    pub target: String,
    /// Who asked.
    pub requested_by: String,
    /// Why.
    pub reason: String,
    /// Wall-clock time at which the target's supervisor accepted it.
    pub accepted_at: SystemTime,
}

/// A supervisor's children by kind and liveness, as OTP's `count_children` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildCounts {
    /// Every child there is, whatever its phase (declared ones, and those added at run time
    /// that have not been released).
    pub specs: usize,
    /// Children with a live attempt (starting, running or stopping).
    pub active: usize,
    /// Children that are supervisors.
    pub supervisors: usize,
    /// Children that are services (async or blocking).
    pub workers: usize,
}

/// What a request asks of the node that owns its target.
pub(crate) enum Action {
    /// A command on the child at the target path.
    OnChild(Command),
    /// Add this child to the supervisor at the target path.
    Add(Box<ChildSpec>),
    /// Make a child of the pool at the target path from these arguments.
    StartChild(Box<dyn Any + Send>),
    /// Count the children of the supervisor at the target path.
    Count,
}

impl Action {
    /// Whether the target is a supervisor (else a child).
    pub(crate) fn targets_a_supervisor(&self) -> bool {
        !matches!(self, Action::OnChild(_))
    }
}

pub(crate) enum Reply {
    Receipt(CommandReceipt),
    Counts(ChildCounts),
}

/// A request on its way to the node that owns its target.
pub(crate) struct CommandRequest {
    pub(crate) id: u64,
    pub(crate) action: Action,
    pub(crate) target: String,
    pub(crate) requested_by: String,
    pub(crate) reason: String,
    pub(crate) reply: oneshot::Sender<Result<Reply, CommandError>>,
}

impl CommandRequest {
    /// Answers the asker (who may have given up: then nobody is told).
    pub(crate) fn answer(self, result: Result<Reply, CommandError>) {
        let _ = self.reply.send(result);
    }

    pub(crate) fn receipt(&self, path: String, phase: ServicePhase, changed: bool) -> Reply {
        Reply::Receipt(CommandReceipt {
            command_id: self.id,
            path,
            phase,
            changed,
        })
    }
}
