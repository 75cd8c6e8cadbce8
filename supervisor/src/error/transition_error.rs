use std::error::Error;
use std::fmt;

use crate::model::ServicePhase;

/// A lifecycle move that the phase machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionError {
    /// The phase the service was in.
    pub from: ServicePhase,
    /// The phase that was asked for.
    pub to: ServicePhase,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "illegal lifecycle transition from {} to {}",
            self.from, self.to
        )
    }
}

impl Error for TransitionError {}
