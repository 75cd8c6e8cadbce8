//! How long to wait before a restart, and when to stop restarting.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::{check_count, check_duration, check_positive_duration};
use crate::error::{ConfigError, ParsePolicyError};

/// How a computed backoff delay is randomised, so that services that failed together do not
/// all restart in the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Jitter {
    /// Exactly the computed delay.
    None,
    /// Uniform in `[0, delay]` (AWS "full jitter"): the best spread, the default.
    #[default]
    Full,
    /// Uniform in `[delay / 2, delay]`: keeps at least half of the wait.
    Equal,
}

impl Jitter {
    /// Every accepted spelling.
    pub const SPELLINGS: &'static [&'static str] = &["none", "full", "equal"];
}

impl FromStr for Jitter {
    type Err = ParsePolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Jitter::None),
            "full" => Ok(Jitter::Full),
            "equal" => Ok(Jitter::Equal),
            _ => Err(ParsePolicyError::new("jitter", s, Self::SPELLINGS)),
        }
    }
}

impl fmt::Display for Jitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
        })
    }
}

/// What an opening circuit breaker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnOpen {
    /// The child alone terminates; its siblings run on.
    #[default]
    Terminate,
    /// The child terminates and its supervisor fails as if its restart intensity were
    /// exceeded: it stops its children and escalates to its parent.
    Escalate,
}

impl OnOpen {
    /// Every accepted spelling.
    pub const SPELLINGS: &'static [&'static str] = &["terminate", "escalate"];
}

impl FromStr for OnOpen {
    type Err = ParsePolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "terminate" => Ok(OnOpen::Terminate),
            "escalate" => Ok(OnOpen::Escalate),
            _ => Err(ParsePolicyError::new("on_open", s, Self::SPELLINGS)),
        }
    }
}

impl fmt::Display for OnOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnOpen::Terminate => "terminate",
            OnOpen::Escalate => "escalate",
        })
    }
}

/// Stop restarting a service after `max_failures` failures within `window`.
///
/// ```
/// use std::time::Duration;
/// use supervisor::{BackoffConfig, CircuitBreakerConfig, OnOpen};
///
/// let breaker = CircuitBreakerConfig::new(5, Duration::from_secs(60)).with_on_open(OnOpen::Escalate);
/// let backoff = BackoffConfig::default().with_circuit_breaker_config(breaker);
/// assert_eq!(backoff.circuit_breaker().unwrap().on_open, OnOpen::Escalate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CircuitBreakerConfig {
    /// Failures that open the breaker; at least 1.
    pub max_failures: u32,
    /// The sliding window the failures are counted in; greater than zero.
    pub window: Duration,
    /// What happens when it opens.
    pub on_open: OnOpen,
}

impl CircuitBreakerConfig {
    /// `max_failures` failures within `window` end the child ([`OnOpen::Terminate`]).
    pub fn new(max_failures: u32, window: Duration) -> Self {
        CircuitBreakerConfig {
            max_failures,
            window,
            on_open: OnOpen::Terminate,
        }
    }

    /// What happens when it opens.
    pub fn with_on_open(mut self, on_open: OnOpen) -> Self {
        self.on_open = on_open;
        self
    }
}

/// Exponential backoff between restarts, with jitter, a cooldown that resets it and an
/// optional circuit breaker.
///
/// The delay before restart number `n` (counting from 0 since the last reset) is
/// `min(max, base * 2^n)`, then jittered. After a service has run healthily for `cooldown`, the
/// count starts again from 0.
///
/// The builder methods never fail; [`BackoffConfig::validate`] (called by the supervisor when a
/// service is spawned) rejects nonsense with an error naming the field.
///
/// ```
/// use std::time::Duration;
/// use supervisor::{BackoffConfig, Jitter};
///
/// let backoff = BackoffConfig::new(Duration::from_millis(100), Duration::from_secs(30))
///     .with_cooldown(Duration::from_secs(60))
///     .with_circuit_breaker(5, Duration::from_secs(60))
///     .with_jitter(Jitter::Equal);
/// assert!(backoff.validate().is_ok());
///
/// let bad = BackoffConfig::new(Duration::from_secs(5), Duration::from_secs(1));
/// assert_eq!(bad.validate().unwrap_err().field(), "backoff.base");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackoffConfig {
    base: Duration,
    max: Duration,
    cooldown: Duration,
    circuit_breaker: Option<CircuitBreakerConfig>,
    jitter: Jitter,
}

impl Default for BackoffConfig {
    /// Base 100 ms, max 60 s, cooldown 300 s, breaker 10 failures within 600 s, full jitter.
    fn default() -> Self {
        BackoffConfig {
            base: Duration::from_millis(100),
            max: Duration::from_secs(60),
            cooldown: Duration::from_secs(300),
            circuit_breaker: Some(CircuitBreakerConfig::new(10, Duration::from_secs(600))),
            jitter: Jitter::Full,
        }
    }
}

impl BackoffConfig {
    /// The defaults with another `base` and `max` delay.
    pub fn new(base: Duration, max: Duration) -> Self {
        BackoffConfig {
            base,
            max,
            ..BackoffConfig::default()
        }
    }

    /// How long a service must run without failing before its backoff starts again from `base`.
    pub fn with_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Stop restarting after `max_failures` failures within `window`.
    pub fn with_circuit_breaker(mut self, max_failures: u32, window: Duration) -> Self {
        self.circuit_breaker = Some(CircuitBreakerConfig::new(max_failures, window));
        self
    }

    /// A circuit breaker with every setting, [`OnOpen`] included.
    pub fn with_circuit_breaker_config(mut self, breaker: CircuitBreakerConfig) -> Self {
        self.circuit_breaker = Some(breaker);
        self
    }

    /// Restart for ever, however often the service fails.
    pub fn without_circuit_breaker(mut self) -> Self {
        self.circuit_breaker = None;
        self
    }

    /// How delays are randomised.
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The first delay.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The largest delay.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The healthy run time that resets the backoff.
    pub fn cooldown(&self) -> Duration {
        self.cooldown
    }

    /// The circuit breaker, if any.
    pub fn circuit_breaker(&self) -> Option<CircuitBreakerConfig> {
        self.circuit_breaker
    }

    /// How delays are randomised.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// Checks every field: `max` and the breaker's `window` must be greater than zero, `base`
    /// at most `max`, `max_failures` at least 1, and no duration above
    /// [`MAX_DURATION`](crate::MAX_DURATION).
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_positive_duration("backoff.max", self.max)?;
        check_duration("backoff.cooldown", self.cooldown)?;
        if self.base > self.max {
            return Err(ConfigError::new(
                "backoff.base",
                format!("{:?}", self.base),
                format!("a duration no greater than backoff.max ({:?})", self.max),
            ));
        }
        if let Some(breaker) = self.circuit_breaker {
            check_count(
                "circuit_breaker.max_failures",
                breaker.max_failures,
                "no circuit breaker at all",
            )?;
            check_positive_duration("circuit_breaker.window", breaker.window)?;
        }
        Ok(())
    }
}
