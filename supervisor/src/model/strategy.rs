//! Which siblings restart with a failed child.

use std::fmt;
use std::str::FromStr;

use crate::error::ParsePolicyError;

/// Which children a supervisor restarts when one of them fails (Erlang/OTP's restart
/// strategies). Whatever the strategy, the children that depend on a restarted child are
/// restarted with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Only the failed child (the default).
    #[default]
    OneForOne,
    /// Every child: the others are stopped in reverse startup order, then all are started again
    /// in startup order.
    OneForAll,
    /// The failed child and every child started after it.
    RestForOne,
}

impl Strategy {
    /// Every accepted spelling.
    pub const SPELLINGS: &'static [&'static str] = &["one_for_one", "one_for_all", "rest_for_one"];

    /// The canonical spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Strategy::OneForOne => "one_for_one",
            Strategy::OneForAll => "one_for_all",
            Strategy::RestForOne => "rest_for_one",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = ParsePolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "one_for_one" => Ok(Strategy::OneForOne),
            "one_for_all" => Ok(Strategy::OneForAll),
            "rest_for_one" => Ok(Strategy::RestForOne),
            _ => Err(ParsePolicyError::new("strategy", s, Self::SPELLINGS)),
        }
    }
}
