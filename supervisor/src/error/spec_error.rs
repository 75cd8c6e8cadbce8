use std::error::Error;
use std::fmt;

use super::ConfigError;

/// Why a [`SupervisorSpec`](crate::SupervisorSpec) was rejected. Every variant names the
/// supervisor (and child) and says what would be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecError {
    /// A supervisor or child name is empty.
    EmptyName {
        /// The supervisor's name (empty if it is the one without a name).
        supervisor: String,
    },
    /// Two children of one supervisor share a name.
    DuplicateName {
        /// The supervisor.
        supervisor: String,
        /// The repeated name.
        name: String,
    },
    /// A dependency names no sibling.
    UnknownDependency {
        /// The supervisor.
        supervisor: String,
        /// The child declaring the dependency.
        child: String,
        /// The unknown name.
        dependency: String,
        /// The closest sibling name, if one is close.
        suggestion: Option<String>,
    },
    /// Dependencies form a cycle.
    DependencyCycle {
        /// The supervisor.
        supervisor: String,
        /// The cycle along "depends on" edges, its first name repeated at the end.
        cycle: Vec<String>,
    },
    /// Supervisors nest deeper than [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH).
    TooDeep {
        /// The supervisor whose subtree is too deep.
        supervisor: String,
        /// Its depth, counting itself as level 1.
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// A value is out of range.
    Invalid {
        /// `supervisor` or `supervisor/child`.
        path: String,
        /// What is wrong with which field.
        error: ConfigError,
    },
    /// A mailbox's name or capacity is not valid.
    InvalidMailbox {
        /// The mailbox.
        mailbox: String,
        /// What is wrong, and what would be valid.
        problem: String,
    },
    /// The shutdown order has a cycle: a child stops after those that depend on it, and a
    /// mailbox's consumer after the children that send into it.
    ShutdownOrderCycle {
        /// The supervisor.
        supervisor: String,
        /// Each step of the cycle, as "`a` stops after `b` (why)".
        cycle: Vec<String>,
    },
    /// Two children consume one mailbox (a consumer's spec was cloned); a mailbox has one.
    MailboxConsumedTwice {
        /// The mailbox.
        mailbox: String,
        /// The two children, as paths.
        consumers: [String; 2],
    },
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::EmptyName { supervisor } if supervisor.is_empty() => {
                f.write_str("a supervisor name must not be empty")
            }
            SpecError::EmptyName { supervisor } => {
                write!(f, "a child of `{supervisor}` has an empty name")
            }
            SpecError::DuplicateName { supervisor, name } => write!(
                f,
                "`{supervisor}` has two children named `{name}`; sibling names must be unique"
            ),
            SpecError::UnknownDependency {
                supervisor,
                child,
                dependency,
                suggestion,
            } => {
                write!(
                    f,
                    "`{supervisor}/{child}` depends on `{dependency}`, which is not a child of `{supervisor}`"
                )?;
                match suggestion {
                    Some(close) => write!(f, "; did you mean `{close}`?"),
                    None => f.write_str("; dependencies must name siblings"),
                }
            }
            SpecError::DependencyCycle { supervisor, cycle } => write!(
                f,
                "dependency cycle in `{supervisor}`: {}",
                cycle.join(" -> ")
            ),
            SpecError::TooDeep {
                supervisor,
                depth,
                max,
            } => write!(
                f,
                "`{supervisor}` nests supervisors {depth} levels deep; at most {max} are supported"
            ),
            SpecError::Invalid { path, error } => write!(f, "`{path}`: {error}"),
            SpecError::InvalidMailbox { mailbox, problem } => {
                write!(f, "mailbox `{mailbox}`: {problem}")
            }
            SpecError::ShutdownOrderCycle { supervisor, cycle } => write!(
                f,
                "shutdown order cycle in `{supervisor}`: {}; drop one `after`/`requires`, or send from one side through an `Outbox` not declared with `produces`",
                cycle.join(", ")
            ),
            SpecError::MailboxConsumedTwice { mailbox, consumers } => write!(
                f,
                "mailbox `{mailbox}` is consumed by both `{}` and `{}`; a mailbox has one consumer",
                consumers[0], consumers[1]
            ),
        }
    }
}

impl Error for SpecError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SpecError::Invalid { error, .. } => Some(error),
            _ => None,
        }
    }
}
