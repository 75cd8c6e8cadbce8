use std::error::Error;
use std::fmt;

use super::ConfigError;

/// Why a service could not be added to a supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// A service with this name is already supervised; names identify services in snapshots,
    /// events and metrics, so they must be unique.
    DuplicateName(String),
    /// The service's name is empty.
    EmptyName,
    /// A policy value was rejected.
    InvalidConfig(ConfigError),
    /// The supervisor is shutting down (or has shut down) and accepts no new services.
    ShuttingDown,
    /// Called outside a Tokio runtime, so there is nowhere to run the service.
    NoRuntime,
    /// The supervisor holds as many services added at run time as it may
    /// ([`MAX_DYNAMIC_CHILDREN`](crate::MAX_DYNAMIC_CHILDREN)).
    TooManyChildren {
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::DuplicateName(name) => write!(
                f,
                "a service named `{name}` is already supervised; service names must be unique"
            ),
            SpawnError::EmptyName => f.write_str("a service name must not be empty"),
            SpawnError::InvalidConfig(err) => err.fmt(f),
            SpawnError::ShuttingDown => {
                f.write_str("the supervisor is shutting down and accepts no new services")
            }
            SpawnError::TooManyChildren { max } => write!(
                f,
                "the supervisor already holds {max} services added at run time, its limit"
            ),
            SpawnError::NoRuntime => f.write_str(
                "no Tokio runtime: spawn services from within a runtime (e.g. under #[tokio::main])",
            ),
        }
    }
}

impl Error for SpawnError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SpawnError::InvalidConfig(err) => Some(err),
            _ => None,
        }
    }
}

impl From<ConfigError> for SpawnError {
    fn from(err: ConfigError) -> Self {
        SpawnError::InvalidConfig(err)
    }
}
