use std::fmt;

use super::health::HealthStatus;
use std::time::Duration;

use crate::model::format_duration;
use crate::model::{BackoffConfig, ChildKind, RestartPolicy, ServicePhase, ShutdownPolicy};
use crate::observe::ChildStats;

/// A whole tree at one instant, from
/// [`SupervisorHandle::current_state`](crate::SupervisorHandle::current_state). Its `Display`
/// draws the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeState {
    /// The root supervisor's name.
    pub name: String,
    /// The root's restart intensity in use (`None` once the tree has ended).
    pub intensity: Option<IntensityUse>,
    /// The root's children, in declaration order; nested supervisors hold theirs.
    pub children: Vec<ChildState>,
}

/// How much of a supervisor's restart intensity is in use: `restarts` within the last
/// `within`, of the `max_restarts` it tolerates there. Displays as `3/10 in 1m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntensityUse {
    /// Restarts within the window now.
    pub restarts: u32,
    /// Restarts it tolerates within the window; one more escalates.
    pub max_restarts: u32,
    /// The window.
    pub within: Duration,
}

impl fmt::Display for IntensityUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} in {}",
            self.restarts,
            self.max_restarts,
            format_duration(self.within)
        )
    }
}

/// One child in a [`TreeState`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildState {
    /// From the root: `bot/execution/order_router`.
    pub path: String,
    /// The child's own name.
    pub name: String,
    /// Async, blocking or supervisor.
    pub kind: ChildKind,
    /// Its phase.
    pub phase: ServicePhase,
    /// Its current (or last) attempt: 0 before the first start.
    pub attempt: u32,
    /// How its last attempt ended (`failed: connection reset`, `stopped`, ...), if one did.
    pub last_exit: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its last failure's message, if it ever failed.
    pub last_failure: Option<String>,
    /// Its counters: restarts, failures by kind, breaker trips, time running.
    pub stats: ChildStats,
    /// Its part in the tree's [`Health`](crate::Health).
    pub health: HealthStatus,
    /// Its restart policy.
    pub restart: RestartPolicy,
    /// Its backoff and circuit breaker.
    pub backoff: BackoffConfig,
    /// Its own shutdown policy (`None`: its supervisor's default).
    pub shutdown: Option<ShutdownPolicy>,
    /// The siblings it starts after (`after`).
    pub after: Vec<String>,
    /// The siblings it requires (`requires`): it stops while one of them is down.
    pub requires: Vec<String>,
    /// How long it may go without a heartbeat while running, if it must send them.
    pub heartbeat_timeout: Option<Duration>,
    /// How long ago its last heartbeat was, if it ever sent one.
    pub heartbeat_age: Option<Duration>,
    /// While it backs off: how long until its next attempt (`None` while its restart waits
    /// for a sibling of its restart scope to stop).
    pub restart_in: Option<Duration>,
    /// Failures now counting towards its circuit breaker (which opens at
    /// `backoff.circuit_breaker().max_failures`).
    pub breaker_failures: u32,
    /// The mailbox it consumes, if it does: its length and counts now.
    pub mailbox: Option<crate::mailbox::MailboxStats>,
    /// A running nested supervisor's restart intensity in use (`None` for other kinds).
    pub intensity: Option<IntensityUse>,
    /// A nested supervisor's children (empty for other kinds).
    pub children: Vec<ChildState>,
}

impl TreeState {
    /// Every child of the tree, depth first, parents before their children.
    pub fn iter(&self) -> impl Iterator<Item = &ChildState> {
        let mut stack: Vec<&ChildState> = self.children.iter().rev().collect();
        std::iter::from_fn(move || {
            let next = stack.pop()?;
            stack.extend(next.children.iter().rev());
            Some(next)
        })
    }

    /// The child at `path` (`bot/execution/order_router`), if there is one.
    pub fn find(&self, path: &str) -> Option<&ChildState> {
        self.iter().find(|child| child.path == path)
    }
}

impl fmt::Display for TreeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.name)?;
        draw(f, &self.children, "")
    }
}

fn draw(f: &mut fmt::Formatter<'_>, children: &[ChildState], indent: &str) -> fmt::Result {
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let label = format!("{indent}{}{}", if last { "`- " } else { "|- " }, child.name);
        write!(
            f,
            "{label:<32} {:<12} attempt {}",
            child.phase, child.attempt
        )?;
        if let Some(exit) = &child.last_exit {
            write!(f, "  last exit: {exit}")?;
        }
        if let Some(mailbox) = &child.mailbox {
            write!(f, "  mailbox {mailbox}")?;
        }
        writeln!(f)?;
        let deeper = format!("{indent}{}", if last { "   " } else { "|  " });
        draw(f, &child.children, &deeper)?;
    }
    Ok(())
}
