//! When a started service counts as running.

use std::time::Duration;

/// When a freshly started attempt counts as [`Running`](crate::ServicePhase::Running).
///
/// ```
/// use std::time::Duration;
/// use supervisor::Readiness;
///
/// let explicit = Readiness::Explicit { timeout: Duration::from_secs(10) };
/// assert_ne!(explicit, Readiness::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Readiness {
    /// As soon as it is spawned (the default).
    #[default]
    Immediate,
    /// When it calls [`TaskContext::ready`](crate::TaskContext::ready). An attempt that has not
    /// within `timeout` has failed: it is aborted and restarted per its policy and backoff.
    Explicit {
        /// How long an attempt may take to report ready; greater than zero.
        timeout: Duration,
    },
}
