use std::error::Error;
use std::fmt;
use std::time::Duration;

use crate::observe::CompactDuration;

/// A supervisor gave up: its children restarted more often than its intensity allows. It
/// stopped its children and failed; its parent treats that as the failure of a child, and at
/// the root the tree shuts down and reports this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// The supervisor that gave up, as a path (`bot/execution`).
    pub supervisor: String,
    /// The child whose failure tipped it over, as a path.
    pub child: String,
    /// How many times that child had failed in all.
    pub child_failures: u64,
    /// The intensity limit: restarts tolerated within `within`.
    pub max_restarts: u32,
    /// The intensity window.
    pub within: Duration,
    /// Why the child failed the last time.
    pub cause: String,
}

impl fmt::Display for Escalation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "supervisor `{}` gave up after more than {} restarts within {}; the last: `{}` failed ({} failures in all): {}",
            self.supervisor,
            self.max_restarts,
            CompactDuration(self.within),
            self.child,
            self.child_failures,
            self.cause
        )
    }
}

impl Error for Escalation {}
