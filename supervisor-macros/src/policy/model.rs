//! What a set of policy options declares, as plain data: no tokens, durations in nanoseconds.
//! The same for `#[service]` and for a child's `with(..)` in `supervisor!`.

/// Policy options as declared; `None` where the option was not written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PolicyModel {
    pub(crate) restart: Option<Restart>,
    pub(crate) backoff: Option<BackoffModel>,
    pub(crate) shutdown: Option<ShutdownModel>,
    /// `readiness` (and `startup_timeout`) as written.
    pub(crate) readiness: Option<Readiness>,
    pub(crate) heartbeat_ns: Option<u64>,
    pub(crate) significant: bool,
    pub(crate) tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Restart {
    Always,
    OnFailure,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BackoffModel {
    pub(crate) base_ns: u64,
    pub(crate) max_ns: u64,
    pub(crate) jitter: Option<Jitter>,
    pub(crate) reset_after_ns: Option<u64>,
    pub(crate) breaker: Breaker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jitter {
    None,
    Full,
    Equal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Breaker {
    /// The runtime's default breaker.
    Default,
    Disabled,
    Limits {
        max_failures: u32,
        within_ns: u64,
        /// `on_open = "escalate"`: the supervisor fails when it opens.
        escalate: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    Immediate,
    /// With its startup timeout.
    Explicit(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShutdownModel {
    Timeout(u64),
    BrutalKill,
    Infinity,
}

impl PolicyModel {
    /// Failures its circuit breaker allows before it opens; `u32::MAX` without one.
    pub(crate) fn breaker_max_failures(&self) -> u32 {
        match self
            .backoff
            .map_or(Breaker::Default, |backoff| backoff.breaker)
        {
            Breaker::Default => DEFAULT_BREAKER_MAX_FAILURES,
            Breaker::Disabled => u32::MAX,
            Breaker::Limits { max_failures, .. } => max_failures,
        }
    }
}

/// The runtime's default circuit breaker's `max_failures` (`BackoffConfig::default()`).
pub(crate) const DEFAULT_BREAKER_MAX_FAILURES: u32 = 10;

/// The runtime's defaults, for options given only in part.
pub(crate) const DEFAULT_BASE_NS: u64 = 100_000_000;
pub(crate) const DEFAULT_MAX_NS: u64 = 60_000_000_000;
pub(crate) const DEFAULT_STARTUP_TIMEOUT_NS: u64 = 30_000_000_000;
