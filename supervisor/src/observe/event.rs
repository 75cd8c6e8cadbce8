use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{CompactDuration, FailureMessage};
use crate::error::Escalation;
use crate::model::{ServicePhase, TerminationReason};
use crate::runtime::CommandAudit;

/// One lifecycle change, as broadcast by [`Supervisor::subscribe`](crate::Supervisor::subscribe)
/// and kept in the journal ([`SupervisorHandle::subscribe_from`](crate::SupervisorHandle::subscribe_from)).
///
/// Its `Display` is one readable line:
/// `[   1.250s] bot/market_feed: backing off, attempt 2 in 200ms after: connection reset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleEvent {
    /// Increases by one per event of the tree, from 1; a gap means the subscriber lagged.
    pub seq: u64,
    /// Monotonic time since the tree started.
    pub at: Duration,
    /// Wall-clock time of the event: the tree's start on the wall clock plus `at` (so it
    /// never goes backwards, even if the system clock is set back).
    pub wall: SystemTime,
    /// The child concerned, or the supervisor itself, as a path from the root
    /// (`bot/execution/order_router`).
    pub path: Arc<str>,
    /// The child's generation: unique in the tree, new each time its supervisor creates it
    /// (when that supervisor starts or restarts, or when the child is added at run time).
    /// 0 for a supervisor's own events.
    pub generation: u64,
    /// The child's current attempt (0 before its first start, and for a supervisor's own
    /// events).
    pub attempt: u32,
    /// Ties the event to its cause: a failure and the restart scope and restarts it caused
    /// share one id, a command's effects carry its `command_id`, and a shutdown's stops its
    /// own. `None` for what has no cause but itself (the first starts).
    pub correlation: Option<u64>,
    /// What happened.
    pub kind: EventKind,
}

/// What a [`LifecycleEvent`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// Attempt number `attempt` was spawned.
    Started {
        /// 1 for the first start.
        attempt: u32,
    },
    /// The service moved from one phase to another.
    PhaseChanged {
        /// The previous phase.
        from: ServicePhase,
        /// The new phase.
        to: ServicePhase,
    },
    /// An attempt failed (error or panic) and the next one starts after `delay`.
    BackingOff {
        /// The attempt that the delay leads to.
        next_attempt: u32,
        /// The jittered delay.
        delay: Duration,
        /// The error or panic message (formatted when first read, shared with the child's
        /// state), or `None` after a clean exit.
        cause: Option<FailureMessage>,
    },
    /// The service stopped for good.
    Terminated(TerminationReason),
    /// A failure restarts other children with the failed one (its strategy's scope and its
    /// dependents): they are being stopped, to start again with it.
    RestartScope {
        /// The child whose failure caused it.
        failed: Arc<str>,
        /// The other children stopped to restart, in startup order.
        restarting: Vec<Arc<str>>,
        /// The id of the `restart_child` command that caused it, if one did (then `failed`
        /// names the child the command was for).
        command: Option<u64>,
    },
    /// A worker missed a deadline and cannot be aborted: a blocking worker (its stop, startup
    /// or heartbeat deadline; its thread is left to finish and its next attempt waits for
    /// it), or, at shutdown, a task still stuck inside a poll after the abort wait.
    Detached,
    /// Shutdown began.
    ShutdownRequested {
        /// Who asked.
        requested_by: String,
        /// Why.
        reason: String,
    },
    /// Every service has stopped and no task is left.
    ShutdownCompleted,
    /// An operator command was accepted (the audit record); its effects follow as events
    /// with its id as their correlation.
    Command(Box<CommandAudit>),
    /// The supervisor gave up (restart intensity exceeded, or an escalating breaker opened):
    /// it shuts down and fails, and its own supervisor takes it as a child failure.
    Escalated(Box<Escalation>),
    /// Messages of the mailbox this child consumes were given up on: queued when it
    /// terminated for good, or (at least once) delivered `max_deliveries` times.
    DeadLettered {
        /// The mailbox.
        mailbox: Arc<str>,
        /// How many messages.
        count: u64,
        /// Why.
        reason: String,
    },
    /// At the tree's shutdown, the child received every message left in the mailbox it
    /// consumes: it is closed and empty.
    MailboxDrained {
        /// The mailbox.
        mailbox: Arc<str>,
    },
}

impl fmt::Display for LifecycleEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:>8.3}s] ", self.at.as_secs_f64())?;
        write!(f, "{}: ", self.path)?;
        match &self.kind {
            EventKind::Started { attempt: 1 } => f.write_str("started"),
            EventKind::Started { attempt } => write!(f, "started attempt {attempt}"),
            EventKind::PhaseChanged { from, to } => write!(f, "{from} -> {to}"),
            EventKind::BackingOff {
                next_attempt,
                delay,
                cause,
            } => {
                write!(
                    f,
                    "backing off, attempt {next_attempt} in {}",
                    CompactDuration(*delay)
                )?;
                match cause {
                    Some(cause) => write!(f, " after: {cause}"),
                    None => f.write_str(" after a clean exit"),
                }
            }
            EventKind::Terminated(reason) => write!(f, "terminated: {reason}"),
            EventKind::RestartScope {
                failed,
                restarting,
                command,
            } => {
                let names: Vec<&str> = restarting.iter().map(|p| &**p).collect();
                match command {
                    Some(id) => write!(f, "`{failed}` restarted by command {id}")?,
                    None => write!(f, "`{failed}` failed")?,
                }
                write!(f, "; restarting with it: {}", names.join(", "))
            }
            EventKind::ShutdownRequested {
                requested_by,
                reason,
            } => write!(f, "shutdown requested by {requested_by}: {reason}"),
            EventKind::Detached => {
                f.write_str("blocking worker missed its deadline; waiting for its thread")
            }
            EventKind::ShutdownCompleted => f.write_str("shutdown complete"),
            EventKind::Escalated(escalation) => write!(f, "gives up: {escalation}"),
            EventKind::DeadLettered {
                mailbox,
                count,
                reason,
            } => write!(f, "dead-lettered {count} of mailbox `{mailbox}`: {reason}"),
            EventKind::MailboxDrained { mailbox } => write!(f, "drained mailbox `{mailbox}`"),
            EventKind::Command(audit) => write!(
                f,
                "{} (command {}) requested by {}: {}",
                audit.command, audit.command_id, audit.requested_by, audit.reason
            ),
        }
    }
}
