//! How a child is stopped.

use std::time::Duration;

/// How a child is stopped, on shutdown or when its restart scope is restarted.
///
/// Every policy first cancels the child's token; they differ in how long it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShutdownPolicy {
    /// Wait up to this long for it to return, then abort it (OTP's integer shutdown).
    Timeout(Duration),
    /// Abort it at once (OTP `brutal_kill`).
    BrutalKill,
    /// Wait as long as it takes (OTP `infinity`): meant for nested supervisors, which bound
    /// their own shutdown.
    Infinity,
}

impl ShutdownPolicy {
    /// Every accepted keyword spelling (`Timeout` is written as a duration).
    pub const SPELLINGS: &'static [&'static str] = &["brutal_kill", "infinity"];
}

impl std::fmt::Display for ShutdownPolicy {
    /// As config files spell it: the timeout as a duration (`5s`), or `brutal_kill`,
    /// `infinity`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShutdownPolicy::Timeout(limit) => f.write_str(&super::format_duration(*limit)),
            ShutdownPolicy::BrutalKill => f.write_str("brutal_kill"),
            ShutdownPolicy::Infinity => f.write_str("infinity"),
        }
    }
}
