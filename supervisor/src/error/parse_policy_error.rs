use std::error::Error;
use std::fmt;

/// A policy name did not parse; lists the valid spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsePolicyError {
    what: &'static str,
    input: String,
    valid: &'static [&'static str],
}

impl ParsePolicyError {
    pub(crate) fn new(what: &'static str, input: &str, valid: &'static [&'static str]) -> Self {
        ParsePolicyError {
            what,
            input: input.to_owned(),
            valid,
        }
    }

    /// The rejected input.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Every spelling that would have been accepted.
    pub fn valid(&self) -> &'static [&'static str] {
        self.valid
    }
}

impl fmt::Display for ParsePolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} `{}`; valid values: {}",
            self.what,
            self.input,
            self.valid.join(", ")
        )
    }
}

impl Error for ParsePolicyError {}
