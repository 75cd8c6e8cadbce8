//! When significant children end their supervisor.

use std::fmt;
use std::str::FromStr;

use crate::error::ParsePolicyError;

/// Whether a supervisor stops by itself when its significant children terminate normally
/// (Erlang/OTP's `auto_shutdown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AutoShutdown {
    /// Never (the default); significant flags are ignored.
    #[default]
    Never,
    /// When any significant child has terminated normally.
    AnySignificant,
    /// When every significant child has terminated normally.
    AllSignificant,
}

impl AutoShutdown {
    /// Every accepted spelling.
    pub const SPELLINGS: &'static [&'static str] = &["never", "any_significant", "all_significant"];
}

impl FromStr for AutoShutdown {
    type Err = ParsePolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "never" => Ok(AutoShutdown::Never),
            "any_significant" => Ok(AutoShutdown::AnySignificant),
            "all_significant" => Ok(AutoShutdown::AllSignificant),
            _ => Err(ParsePolicyError::new("auto_shutdown", s, Self::SPELLINGS)),
        }
    }
}

impl fmt::Display for AutoShutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AutoShutdown::Never => "never",
            AutoShutdown::AnySignificant => "any_significant",
            AutoShutdown::AllSignificant => "all_significant",
        })
    }
}
