//! How many restarts a supervisor tolerates.

use std::time::Duration;

/// More than `max_restarts` restarts within `within` fail the supervisor (Erlang/OTP's
/// intensity and period): it stops its children and escalates to its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Intensity {
    /// Restarts tolerated within the window; at least 1.
    pub max_restarts: u32,
    /// The sliding window; greater than zero.
    pub within: Duration,
}

impl Default for Intensity {
    /// 10 restarts within 60 s.
    fn default() -> Self {
        Intensity {
            max_restarts: 10,
            within: Duration::from_secs(60),
        }
    }
}
