//! A failed attempt's message, shared by the events, states and logs that show it.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use super::FailureKind;
use crate::error::ServiceError;
use crate::model::TimeoutKind;

/// The message of a failed attempt (an error, a panic or a missed deadline).
///
/// It holds the failure itself and formats it the first time it is read, so emitting an
/// event that carries it allocates nothing, and every copy shares one string. It reads as a
/// `&str` (`Deref`), compares by text, and can be made from text:
///
/// ```
/// use supervisor::FailureMessage;
///
/// let message = FailureMessage::from("connection reset");
/// assert_eq!(message, "connection reset");
/// assert!(message.starts_with("connection"));
/// assert_eq!(message.to_string(), "connection reset");
/// ```
#[derive(Clone)]
pub struct FailureMessage(Source);

#[derive(Clone)]
enum Source {
    Failure(Arc<Failure>),
    Text(Arc<str>),
}

impl FailureMessage {
    pub(crate) fn of(failure: &Arc<Failure>) -> Self {
        FailureMessage(Source::Failure(Arc::clone(failure)))
    }

    /// What failed: an error, a panic or a missed deadline (`None` for a message made from
    /// text).
    pub fn kind(&self) -> Option<FailureKind> {
        match &self.0 {
            Source::Failure(failure) => Some(failure.kind()),
            Source::Text(_) => None,
        }
    }

    /// The message.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Source::Failure(failure) => failure.message(),
            Source::Text(text) => text,
        }
    }
}

impl Deref for FailureMessage {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for FailureMessage {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for FailureMessage {
    fn from(text: &str) -> Self {
        FailureMessage(Source::Text(Arc::from(text)))
    }
}

impl From<String> for FailureMessage {
    fn from(text: String) -> Self {
        FailureMessage(Source::Text(Arc::from(text)))
    }
}

impl fmt::Display for FailureMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for FailureMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for FailureMessage {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for FailureMessage {}

impl PartialEq<str> for FailureMessage {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for FailureMessage {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A failed attempt: what failed, and its message, made once when first read.
pub(crate) struct Failure {
    pub(crate) cause: FailureCause,
    message: OnceLock<String>,
}

pub(crate) enum FailureCause {
    Error(ServiceError),
    /// A panic (its message is the failure's; the payload is dropped where it was caught).
    Panic,
    Timeout(TimeoutKind),
}

impl Failure {
    pub(crate) fn error(error: ServiceError) -> Arc<Self> {
        Arc::new(Failure {
            message: OnceLock::new(),
            cause: FailureCause::Error(error),
        })
    }

    pub(crate) fn panic(message: String) -> Arc<Self> {
        Arc::new(Failure {
            message: OnceLock::from(message),
            cause: FailureCause::Panic,
        })
    }

    pub(crate) fn timeout(kind: TimeoutKind) -> Arc<Self> {
        Arc::new(Failure {
            message: OnceLock::new(),
            cause: FailureCause::Timeout(kind),
        })
    }

    /// The message, made on first use.
    pub(crate) fn message(&self) -> &str {
        self.message.get_or_init(|| match &self.cause {
            FailureCause::Error(error) => error.to_string(),
            FailureCause::Timeout(kind) => kind.to_string(),
            // Set when made.
            FailureCause::Panic => String::new(),
        })
    }

    /// Its kind, for the per-kind counters.
    pub(crate) fn kind(&self) -> FailureKind {
        match self.cause {
            FailureCause::Error(_) => FailureKind::Error,
            FailureCause::Panic => FailureKind::Panic,
            FailureCause::Timeout(_) => FailureKind::Timeout,
        }
    }

    pub(crate) fn describe(&self) -> String {
        let what = match self.cause {
            FailureCause::Error(_) => "failed",
            FailureCause::Panic => "panicked",
            FailureCause::Timeout(_) => "timed out",
        };
        format!("{what}: {}", self.message())
    }
}
