//! When a terminated service is started again.

use std::fmt;
use std::str::FromStr;

use crate::error::ParsePolicyError;

/// When a service that has exited is started again.
///
/// The three policies are Erlang/OTP's `permanent`, `transient` and `temporary`; both spellings
/// parse.
///
/// ```
/// use supervisor::RestartPolicy;
///
/// assert_eq!("on_failure".parse(), Ok(RestartPolicy::OnFailure));
/// assert_eq!("permanent".parse(), Ok(RestartPolicy::Always));
/// let err = "sometimes".parse::<RestartPolicy>().unwrap_err();
/// assert!(err.to_string().contains("always, on_failure, never"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RestartPolicy {
    /// Restart after every exit, clean or not (OTP `permanent`).
    Always,
    /// Restart after an error or a panic, not after a clean return (OTP `transient`).
    #[default]
    OnFailure,
    /// Never restart (OTP `temporary`).
    Never,
}

impl RestartPolicy {
    /// Every accepted spelling, ours first, then the OTP aliases.
    pub const SPELLINGS: &'static [&'static str] = &[
        "always",
        "on_failure",
        "never",
        "permanent",
        "transient",
        "temporary",
    ];

    /// The canonical spelling, as accepted by [`FromStr`].
    pub const fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::Always => "always",
            RestartPolicy::OnFailure => "on_failure",
            RestartPolicy::Never => "never",
        }
    }

    /// Whether an exit of this kind is followed by a new attempt.
    ///
    /// `failed` is true for an error or a panic; a fatal error is never restarted and is not
    /// asked about here.
    pub const fn restarts_after(self, failed: bool) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => failed,
            RestartPolicy::Never => false,
        }
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RestartPolicy {
    type Err = ParsePolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" | "permanent" => Ok(RestartPolicy::Always),
            "on_failure" | "transient" => Ok(RestartPolicy::OnFailure),
            "never" | "temporary" => Ok(RestartPolicy::Never),
            _ => Err(ParsePolicyError::new("restart policy", s, Self::SPELLINGS)),
        }
    }
}
