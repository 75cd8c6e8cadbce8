use std::error::Error;
use std::fmt;
use std::io;

use super::{Escalation, SpecError};

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
        }
    }
}
