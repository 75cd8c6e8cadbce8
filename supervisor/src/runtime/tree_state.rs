use std::fmt;

use super::health::HealthStatus;
use crate::model::{ChildKind, ServicePhase};
use crate::observe::ChildStats;

/// A whole tree at one instant, from
/// [`SupervisorHandle::current_state`](crate::SupervisorHandle::current_state). Its `Display`
/// draws the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeState {
    /// The root supervisor's name.
    pub name: String,
    /// The root's children, in declaration order; nested supervisors hold theirs.
    pub children: Vec<ChildState>,
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
        writeln!(f)?;
        let deeper = format!("{indent}{}", if last { "   " } else { "|  " });
        draw(f, &child.children, &deeper)?;
    }
    Ok(())
}
