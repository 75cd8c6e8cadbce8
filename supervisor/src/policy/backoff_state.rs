use std::time::{Duration, Instant};

use rand::rngs::{SmallRng, SysRng};
use rand::{RngExt, SeedableRng};

use super::FailureWindow;
use crate::model::{BackoffConfig, Jitter};

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffAction {
    /// Start the next attempt after this delay.
    Retry(Duration),
    /// The circuit breaker opened: `failures` failures within its window reached
    /// `max_failures`. Do not restart.
    CircuitOpen {
        /// Failures counted in the breaker's window.
        failures: u32,
        /// The breaker's limit.
        max_failures: u32,
    },
}

/// Where a service is in its backoff: what changes between failures, without the
/// configuration or the rng (a supervisor keeps one of each per spec and per node, not per
/// child). [`BackoffState`] bundles the three.
#[derive(Debug, Clone, Default)]
pub struct BackoffProgress {
    // Exponent of the next delay: failures since the last reset.
    exponent: u32,
    // Allocated at the first failure of a service with a breaker.
    breaker: Option<Box<FailureWindow>>,
    running_since: Option<Instant>,
}

impl BackoffProgress {
    /// Failures since the backoff was last reset; the exponent of the next delay.
    pub fn consecutive_failures(&self) -> u32 {
        self.exponent
    }

    /// Failures that count towards the circuit breaker at `now` (0 before the first).
    pub fn breaker_failures_at(&self, now: Instant) -> u32 {
        self.breaker
            .as_ref()
            .map_or(0, |window| window.count_at(now))
    }

    /// Notes that an attempt started running at `now`.
    pub fn record_start(&mut self, now: Instant) {
        self.running_since = Some(now);
    }

    /// Records a failure at `now` under `config` and says whether and when to retry.
    pub fn next_backoff(
        &mut self,
        config: &BackoffConfig,
        now: Instant,
        rng: &mut SmallRng,
    ) -> BackoffAction {
        if let Some(started) = self.running_since.take()
            && now.saturating_duration_since(started) >= config.cooldown()
        {
            self.exponent = 0;
        }
        if let Some(limits) = config.circuit_breaker() {
            let breaker = self.breaker.get_or_insert_with(|| {
                Box::new(FailureWindow::new(limits.max_failures, limits.window))
            });
            let failures = breaker.record(now);
            if breaker.is_full() {
                return BackoffAction::CircuitOpen {
                    failures,
                    max_failures: breaker.limit(),
                };
            }
        }
        let delay = exponential_delay(config, self.exponent);
        self.exponent = self.exponent.saturating_add(1);
        BackoffAction::Retry(apply_jitter(delay, config.jitter(), rng))
    }

    /// The delay after a clean exit (policy `Always`): `base`, jittered, neither growing nor
    /// counting towards the breaker.
    pub fn clean_exit_delay(&mut self, config: &BackoffConfig, rng: &mut SmallRng) -> Duration {
        self.running_since = None;
        apply_jitter(config.base(), config.jitter(), rng)
    }
}

/// What [`decide`](super::decide) needs of a backoff.
pub trait Backoff {
    /// Records a failure at `now`; see [`BackoffState::next_backoff`].
    fn next_backoff(&mut self, now: Instant) -> BackoffAction;
    /// The delay after a clean exit; see [`BackoffState::clean_exit_delay`].
    fn clean_exit_delay(&mut self) -> Duration;
}

/// Progress borrowed together with its configuration and an rng.
pub struct BackoffParts<'a> {
    /// The configuration.
    pub config: &'a BackoffConfig,
    /// The service's progress.
    pub progress: &'a mut BackoffProgress,
    /// Where jitter comes from.
    pub rng: &'a mut SmallRng,
}

impl Backoff for BackoffParts<'_> {
    fn next_backoff(&mut self, now: Instant) -> BackoffAction {
        self.progress.next_backoff(self.config, now, self.rng)
    }

    fn clean_exit_delay(&mut self) -> Duration {
        self.progress.clean_exit_delay(self.config, self.rng)
    }
}

/// The backoff and circuit-breaker state of one service: its configuration, its
/// [`BackoffProgress`] and its own rng.
///
/// Pure and deterministic: every method that depends on time takes `now`, and the jitter comes
/// from a seedable rng ([`BackoffState::with_seed`]).
///
/// ```
/// use std::time::{Duration, Instant};
/// use supervisor::{BackoffConfig, Jitter};
/// use supervisor::policy::{BackoffAction, BackoffState};
///
/// let config = BackoffConfig::new(Duration::from_millis(100), Duration::from_secs(1))
///     .with_jitter(Jitter::None)
///     .with_circuit_breaker(3, Duration::from_secs(60));
/// let mut state = BackoffState::with_seed(config, 7);
/// let now = Instant::now();
/// assert_eq!(state.next_backoff(now), BackoffAction::Retry(Duration::from_millis(100)));
/// assert_eq!(state.next_backoff(now), BackoffAction::Retry(Duration::from_millis(200)));
/// assert_eq!(
///     state.next_backoff(now),
///     BackoffAction::CircuitOpen { failures: 3, max_failures: 3 }
/// );
/// ```
#[derive(Debug, Clone)]
pub struct BackoffState {
    config: BackoffConfig,
    progress: BackoffProgress,
    rng: SmallRng,
}

impl BackoffState {
    /// A fresh state with an rng seeded from the operating system.
    pub fn new(config: BackoffConfig) -> Self {
        Self::with_rng(config, seed_from_os())
    }

    /// A fresh state whose jitter is reproducible.
    pub fn with_seed(config: BackoffConfig, seed: u64) -> Self {
        Self::with_rng(config, SmallRng::seed_from_u64(seed))
    }

    fn with_rng(config: BackoffConfig, rng: SmallRng) -> Self {
        BackoffState {
            config,
            progress: BackoffProgress::default(),
            rng,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BackoffConfig {
        &self.config
    }

    /// Failures since the backoff was last reset; the exponent of the next delay.
    pub fn consecutive_failures(&self) -> u32 {
        self.progress.consecutive_failures()
    }

    /// Notes that an attempt started running at `now`; a failure at least `cooldown` later
    /// starts the backoff again from `base`.
    pub fn record_start(&mut self, now: Instant) {
        self.progress.record_start(now);
    }

    /// Records a failure at `now` and says whether and when to retry.
    pub fn next_backoff(&mut self, now: Instant) -> BackoffAction {
        self.progress.next_backoff(&self.config, now, &mut self.rng)
    }

    /// The delay before restarting after a clean exit (policy `Always`): `base`, jittered. It
    /// neither grows nor counts towards the circuit breaker.
    pub fn clean_exit_delay(&mut self) -> Duration {
        self.progress.clean_exit_delay(&self.config, &mut self.rng)
    }
}

impl Backoff for BackoffState {
    fn next_backoff(&mut self, now: Instant) -> BackoffAction {
        BackoffState::next_backoff(self, now)
    }

    fn clean_exit_delay(&mut self) -> Duration {
        BackoffState::clean_exit_delay(self)
    }
}

/// An rng seeded from the OS, or from the clock if the OS has no entropy: jitter only needs
/// spread, not secrecy.
pub fn seed_from_os() -> SmallRng {
    SmallRng::try_from_rng(&mut SysRng).unwrap_or_else(|_| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        SmallRng::seed_from_u64(nanos)
    })
}

/// `min(max, base * 2^exponent)`, saturating instead of overflowing.
///
/// ```
/// use std::time::Duration;
/// use supervisor::BackoffConfig;
/// use supervisor::policy::exponential_delay;
///
/// let config = BackoffConfig::new(Duration::from_millis(100), Duration::from_secs(30));
/// assert_eq!(exponential_delay(&config, 0), Duration::from_millis(100));
/// assert_eq!(exponential_delay(&config, 3), Duration::from_millis(800));
/// assert_eq!(exponential_delay(&config, 1_000), Duration::from_secs(30));
/// ```
pub fn exponential_delay(config: &BackoffConfig, exponent: u32) -> Duration {
    if config.base().is_zero() {
        return Duration::ZERO;
    }
    let max = config.max().as_nanos();
    let nanos = 1u128
        .checked_shl(exponent)
        .and_then(|factor| config.base().as_nanos().checked_mul(factor))
        .map_or(max, |n| n.min(max));
    duration_from_nanos(nanos)
}

/// Randomises `delay` per `jitter`; never longer than `delay`.
pub fn apply_jitter(delay: Duration, jitter: Jitter, rng: &mut SmallRng) -> Duration {
    let nanos = delay.as_nanos();
    match jitter {
        Jitter::None => delay,
        Jitter::Full => duration_from_nanos(rng.random_range(0..=nanos)),
        Jitter::Equal => duration_from_nanos(nanos / 2 + rng.random_range(0..=nanos - nanos / 2)),
    }
}

// Only called with values at most a valid Duration's nanoseconds, so this cannot overflow.
fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    Duration::new(
        (nanos / NANOS_PER_SEC) as u64,
        (nanos % NANOS_PER_SEC) as u32,
    )
}
