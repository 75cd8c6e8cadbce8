use std::error::Error;
use std::fmt;
use std::io;

use super::{ConfigError, Escalation, SpecError};

/// Why [`Supervisor::run_until_shutdown`](crate::Supervisor::run_until_shutdown) could not
/// complete normally.
#[derive(Debug)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The signal handlers could not be installed. The supervisor was shut down anyway, so no
    /// service is left running.
    Signal(io::Error),
    /// Called outside a Tokio runtime.
    NoRuntime,
    /// The root supervisor exceeded its restart intensity; the tree was shut down.
    Escalated(Escalation),
    /// A declared tree's spec was rejected; nothing was started.
    Spec(SpecError),
    /// A [`SupervisorConfig`](crate::SupervisorConfig) value is out of range; nothing was
    /// started.
    InvalidConfig(ConfigError),
    /// A configuration file was rejected (every problem is listed); nothing was started.
    #[cfg(feature = "config")]
    ConfigFile(crate::config::ConfigFileError),
    /// A control loop of the tree panicked (a bug in this crate: please report it). Every task
    /// of the tree was aborted; the message is the panic's.
    Internal(String),
}

impl fmt::Display for SupervisorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SupervisorError::Signal(err) => {
                write!(f, "could not install the shutdown signal handlers: {err}")
            }
            SupervisorError::NoRuntime => f.write_str(
                "no Tokio runtime: run the supervisor from within a runtime (e.g. under #[tokio::main])",
            ),
            SupervisorError::Escalated(escalation) => {
                write!(f, "the supervision tree failed: {escalation}")
            }
            SupervisorError::Spec(error) => write!(f, "invalid supervision tree: {error}"),
            SupervisorError::InvalidConfig(error) => write!(f, "invalid supervisor config: {error}"),
            #[cfg(feature = "config")]
            SupervisorError::ConfigFile(error) => write!(f, "invalid configuration file {error}"),
            SupervisorError::Internal(message) => write!(
                f,
                "internal error, please report it: a control loop panicked ({message}); every task of the tree was aborted"
            ),
        }
    }
}

impl Error for SupervisorError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SupervisorError::Signal(err) => Some(err),
            SupervisorError::NoRuntime => None,
            SupervisorError::Escalated(escalation) => Some(escalation),
            SupervisorError::Spec(error) => Some(error),
            SupervisorError::InvalidConfig(error) => Some(error),
            #[cfg(feature = "config")]
            SupervisorError::ConfigFile(error) => Some(error),
            SupervisorError::Internal(_) => None,
        }
    }
}
