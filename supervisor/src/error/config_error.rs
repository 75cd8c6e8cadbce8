use std::error::Error;
use std::fmt;

/// A configuration value was rejected; names the field, the value and what is allowed.
///
/// ```
/// use std::time::Duration;
/// use supervisor::BackoffConfig;
///
/// let err = BackoffConfig::new(Duration::ZERO, Duration::ZERO).validate().unwrap_err();
/// assert_eq!(err.field(), "backoff.max");
/// assert_eq!(err.to_string(), "invalid backoff.max = 0ns: expected a duration greater than zero");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: &'static str,
    value: String,
    expected: String,
}

impl ConfigError {
    pub(crate) fn new(
        field: &'static str,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        ConfigError {
            field,
            value: value.into(),
            expected: expected.into(),
        }
    }

    /// The rejected field, dotted (`backoff.base`, `circuit_breaker.window`, ...).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The rejected value, as written in the message.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What the field accepts.
    pub fn expected(&self) -> &str {
        &self.expected
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} = {}: expected {}",
            self.field, self.value, self.expected
        )
    }
}

impl Error for ConfigError {}
