use std::time::{Duration, Instant};

use super::{Backoff, BackoffAction};
use crate::error::ErrorKind;
use crate::model::RestartPolicy;

/// How an attempt ended, without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// It returned `Ok(())`.
    Completed,
    /// It returned an error of this kind.
    Failed(ErrorKind),
    /// It panicked.
    Panicked,
    /// It missed a deadline (and was stopped for it).
    TimedOut,
}

/// What the supervisor does after an attempt exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start a new attempt after this delay.
    Restart(Duration),
    /// Leave the service terminated, for this reason.
    Stop(StopReason),
}

/// Why a service is left terminated; the runtime adds the error or panic message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A clean exit that the policy does not restart.
    Completed,
    /// A clean exit after the supervisor asked the service to stop.
    Cancelled,
    /// An error that is not restarted.
    Failed,
    /// A panic that is not restarted.
    Panicked,
    /// A missed deadline that is not restarted.
    TimedOut,
    /// Too many failures within the breaker's window.
    CircuitOpen {
        /// Failures counted in the window.
        failures: u32,
        /// The breaker's limit.
        max_failures: u32,
    },
}

/// The restart decision: `(exit, policy, history) -> decision`.
///
/// `stopping` is true when the supervisor asked the service to stop; nothing is restarted
/// then. A fatal error is never restarted. Failures advance `backoff` (and its breaker); a
/// clean exit under [`RestartPolicy::Always`] restarts after the un-grown base delay.
///
/// ```
/// use std::time::{Duration, Instant};
/// use supervisor::{BackoffConfig, ErrorKind, Jitter, RestartPolicy};
/// use supervisor::policy::{decide, BackoffState, Decision, ExitKind, StopReason};
///
/// let config = BackoffConfig::new(Duration::from_secs(1), Duration::from_secs(8))
///     .with_jitter(Jitter::None);
/// let mut backoff = BackoffState::with_seed(config, 1);
/// let now = Instant::now();
/// let failed = ExitKind::Failed(ErrorKind::Transient);
/// assert_eq!(
///     decide(failed, RestartPolicy::OnFailure, false, &mut backoff, now),
///     Decision::Restart(Duration::from_secs(1))
/// );
/// assert_eq!(
///     decide(ExitKind::Completed, RestartPolicy::OnFailure, false, &mut backoff, now),
///     Decision::Stop(StopReason::Completed)
/// );
/// assert_eq!(
///     decide(ExitKind::Failed(ErrorKind::Fatal), RestartPolicy::Always, false, &mut backoff, now),
///     Decision::Stop(StopReason::Failed)
/// );
/// ```
pub fn decide(
    exit: ExitKind,
    policy: RestartPolicy,
    stopping: bool,
    backoff: &mut impl Backoff,
    now: Instant,
) -> Decision {
    let unrestarted = match exit {
        ExitKind::Completed if stopping => StopReason::Cancelled,
        ExitKind::Completed => StopReason::Completed,
        ExitKind::Failed(_) => StopReason::Failed,
        ExitKind::Panicked => StopReason::Panicked,
        ExitKind::TimedOut => StopReason::TimedOut,
    };
    let failed = !matches!(exit, ExitKind::Completed);
    if stopping || exit == ExitKind::Failed(ErrorKind::Fatal) || !policy.restarts_after(failed) {
        return Decision::Stop(unrestarted);
    }
    if !failed {
        return Decision::Restart(backoff.clean_exit_delay());
    }
    match backoff.next_backoff(now) {
        BackoffAction::Retry(delay) => Decision::Restart(delay),
        BackoffAction::CircuitOpen {
            failures,
            max_failures,
        } => Decision::Stop(StopReason::CircuitOpen {
            failures,
            max_failures,
        }),
    }
}
