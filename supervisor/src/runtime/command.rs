//! Operator commands: what a handle sends to the node that owns the target, and what comes
//! back. A command is a message to that node's loop, never shared state.

use std::fmt;
use std::time::SystemTime;

use tokio::sync::oneshot;

use crate::error::CommandError;
use crate::model::ServicePhase;

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
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::Restart => "restart",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Quarantine => "quarantine",
            Command::Release => "release",
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

/// A command on its way to the node that owns its target.
pub(crate) struct CommandRequest {
    pub(crate) id: u64,
    pub(crate) command: Command,
    pub(crate) target: String,
    pub(crate) requested_by: String,
    pub(crate) reason: String,
    pub(crate) reply: oneshot::Sender<Result<CommandReceipt, CommandError>>,
}

impl CommandRequest {
    /// Answers the asker (who may have given up: then nobody is told).
    pub(crate) fn answer(self, result: Result<CommandReceipt, CommandError>) {
        let _ = self.reply.send(result);
    }

    pub(crate) fn receipt(&self, phase: ServicePhase, changed: bool) -> CommandReceipt {
        CommandReceipt {
            command_id: self.id,
            path: self.target.clone(),
            phase,
            changed,
        }
    }
}
