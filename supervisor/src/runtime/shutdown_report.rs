use std::fmt;
use std::time::Duration;

use crate::observe::CompactDuration;

/// What a shutdown did to each service, returned by
/// [`Supervisor::wait_for_drain`](crate::Supervisor::wait_for_drain) and
/// [`Supervisor::run_until_shutdown`](crate::Supervisor::run_until_shutdown).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShutdownReport {
    /// Who asked for the shutdown (`signal`, `operator`, a supervisor's path, ...).
    pub requested_by: String,
    /// Why.
    pub reason: String,
    /// One entry per child, in declaration order, each nested supervisor's children right
    /// after it.
    pub services: Vec<ServiceShutdown>,
    /// From the stop request to the last task gone.
    pub duration: Duration,
    /// Set when a control loop of the tree panicked (a bug in this crate): every task was
    /// aborted and the services are reported [`StopOutcome::Lost`].
    pub internal_error: Option<String>,
    /// Each mailbox's counts, by name: every message sent is delivered, dead-lettered or
    /// still queued (undelivered).
    pub mailboxes: Vec<crate::mailbox::MailboxStats>,
}

/// How one service ended during shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceShutdown {
    /// From the root: `bot/execution/order_router`.
    pub path: String,
    /// The child's own name.
    pub name: String,
    /// How it stopped.
    pub outcome: StopOutcome,
}

/// How a service stopped during shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// It was running and returned after cancellation, within the timeout.
    Graceful,
    /// It did not return within the timeout and its task was aborted.
    Aborted,
    /// A blocking worker that did not return within the timeout: it cannot be aborted, so it
    /// was detached and may still be running.
    Detached,
    /// No attempt was running (it had terminated, or was waiting to restart).
    NotRunning,
    /// Its supervisor's control loop panicked (a bug in this crate); its task was aborted.
    Lost,
}

impl ShutdownReport {
    /// How many services ended with `outcome`.
    pub fn count(&self, outcome: StopOutcome) -> usize {
        self.services
            .iter()
            .filter(|s| s.outcome == outcome)
            .count()
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "shutdown in {}: {} graceful, {} aborted, {} detached, {} not running",
            CompactDuration(self.duration),
            self.count(StopOutcome::Graceful),
            self.count(StopOutcome::Aborted),
            self.count(StopOutcome::Detached),
            self.count(StopOutcome::NotRunning)
        )?;
        for mailbox in &self.mailboxes {
            write!(f, "; {mailbox}")?;
        }
        match &self.internal_error {
            Some(error) => write!(
                f,
                "; internal error, {} lost: {error}",
                self.count(StopOutcome::Lost)
            ),
            None => Ok(()),
        }
    }
}

impl fmt::Display for StopOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopOutcome::Graceful => "stopped gracefully",
            StopOutcome::Aborted => "aborted",
            StopOutcome::Detached => "detached (blocking, still running)",
            StopOutcome::NotRunning => "was not running",
            StopOutcome::Lost => "lost (its supervisor's loop panicked)",
        })
    }
}
