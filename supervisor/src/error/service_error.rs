use std::error::Error;
use std::fmt;

use crate::model::FailureSummary;

/// Any error that is `Send + Sync + 'static`, boxed.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Whether a failure is worth a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ErrorKind {
    /// Restart per the service's policy and backoff (the default).
    #[default]
    Transient,
    /// Never restart: retrying cannot help (bad configuration, revoked credentials, ...).
    Fatal,
}

/// The error a supervised service returns.
///
/// Anything that converts into a [`BoxError`] converts into a transient `ServiceError` with
/// `?` or `.into()`: `std` errors, your own error types, `anyhow::Error`, `String` and `&str`.
/// Wrap an error in [`ServiceError::fatal`] when a restart cannot help; the supervisor then
/// terminates the service instead of restarting it.
///
/// `ServiceError` deliberately does not implement [`std::error::Error`] itself (that would
/// conflict with the blanket conversion, as for `anyhow::Error`); use
/// [`ServiceError::get_ref`] or [`ServiceError::into_inner`] to reach the wrapped error.
///
/// ```
/// use supervisor::{ErrorKind, ServiceError};
///
/// fn parse_port(s: &str) -> Result<u16, ServiceError> {
///     s.parse::<u16>().map_err(ServiceError::fatal)
/// }
///
/// let io: ServiceError = std::io::Error::other("connection reset").into();
/// assert_eq!(io.kind(), ErrorKind::Transient);
/// assert!(parse_port("http").unwrap_err().is_fatal());
///
/// let from_anyhow: ServiceError = anyhow::anyhow!("feed stalled").into();
/// assert_eq!(from_anyhow.to_string(), "feed stalled");
/// ```
pub struct ServiceError {
    kind: ErrorKind,
    error: BoxError,
}

impl ServiceError {
    /// A failure that the service's policy may restart.
    pub fn transient(error: impl Into<BoxError>) -> Self {
        ServiceError {
            kind: ErrorKind::Transient,
            error: error.into(),
        }
    }

    /// A failure that is never restarted, whatever the policy.
    pub fn fatal(error: impl Into<BoxError>) -> Self {
        ServiceError {
            kind: ErrorKind::Fatal,
            error: error.into(),
        }
    }

    /// Transient or fatal.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether this failure is never restarted.
    pub fn is_fatal(&self) -> bool {
        self.kind == ErrorKind::Fatal
    }

    /// The wrapped error.
    pub fn get_ref(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.error
    }

    /// The wrapped error, by value.
    pub fn into_inner(self) -> BoxError {
        self.error
    }

    /// The wrapped error as a `T`, if it is one.
    pub fn downcast_ref<T: Error + 'static>(&self) -> Option<&T> {
        self.error.downcast_ref::<T>()
    }

    /// The message with its sources, `outer: inner: root`, and the kind.
    pub fn summary(&self) -> FailureSummary {
        FailureSummary {
            kind: self.kind,
            message: self.to_string(),
        }
    }
}

impl<E: Into<BoxError>> From<E> for ServiceError {
    fn from(error: E) -> Self {
        ServiceError::transient(error)
    }
}

impl fmt::Display for ServiceError {
    /// The error followed by each of its sources, separated by `: `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut previous = self.error.to_string();
        f.write_str(&previous)?;
        let mut source = self.error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            // Some errors repeat their cause in their own message; don't print it twice.
            if !text.is_empty() && !previous.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            previous = text;
            source = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceError")
            .field("kind", &self.kind)
            .field("error", &self.error)
            .finish()
    }
}
