use std::fmt;

use super::SpecError;
use crate::model::ServicePhase;

/// Why an operator command on a running tree was refused. Nothing changed when a command
/// returns one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// No child has this path.
    UnknownPath {
        /// The path asked for.
        path: String,
        /// A path that exists and is spelt closely, if there is one.
        suggestion: Option<String>,
    },
    /// The path goes through a supervisor child that is not running now (it is restarting,
    /// paused or terminated), so its children cannot be reached.
    SupervisorNotRunning {
        /// The supervisor child's path.
        supervisor: String,
        /// Its phase.
        phase: ServicePhase,
    },
    /// The command does not apply to the child in its phase.
    NotAllowed {
        /// The child's path.
        path: String,
        /// Its phase.
        phase: ServicePhase,
        /// What to do instead.
        hint: &'static str,
    },
    /// The path names a supervisor where a child is needed (the root cannot be restarted,
    /// paused or quarantined: use `shutdown_tree`).
    NotAChild {
        /// The path asked for.
        path: String,
    },
    /// The tree is shutting down or has ended.
    ShuttingDown,
    /// The path names a service where a supervisor is needed (to add a child to, start a pool
    /// child in, or count the children of).
    NotASupervisor {
        /// The path asked for.
        path: String,
    },
    /// The supervisor takes no children at run time
    /// ([`max_dynamic_children`](crate::SupervisorSpecBuilder::max_dynamic_children) is 0).
    DynamicChildrenNotAllowed {
        /// The supervisor's path.
        supervisor: String,
    },
    /// The supervisor already holds as many children added at run time as it may.
    TooManyChildren {
        /// The supervisor's path.
        supervisor: String,
        /// Its limit.
        max: usize,
    },
    /// A sibling already has the new child's name.
    DuplicateName {
        /// The path the new child would have had.
        path: String,
    },
    /// The new child's spec was rejected (its name, a policy value, a dependency on
    /// siblings, which children added at run time cannot have, too deep a nesting, or a
    /// mailbox a sibling consumes already).
    InvalidChild(SpecError),
    /// `start_child` on a supervisor that is not a pool.
    NotAPool {
        /// The supervisor's path.
        supervisor: String,
    },
    /// `start_child` with arguments of another type than the pool's template takes.
    WrongArguments {
        /// The pool's path.
        pool: String,
        /// The type the template takes.
        expected: &'static str,
    },
    /// The supervisor holding the child ended (restarted or shut down) before it answered;
    /// the command may or may not have taken effect. Read the state and ask again.
    Interrupted {
        /// The path asked for.
        path: String,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::UnknownPath { path, suggestion } => {
                write!(f, "no child at `{path}`")?;
                match suggestion {
                    Some(close) => write!(f, "; did you mean `{close}`?"),
                    None => Ok(()),
                }
            }
            CommandError::SupervisorNotRunning { supervisor, phase } => write!(
                f,
                "the supervisor `{supervisor}` is {phase}, so its children cannot be reached now"
            ),
            CommandError::NotAllowed { path, phase, hint } => {
                write!(f, "`{path}` is {phase}: {hint}")
            }
            CommandError::NotAChild { path } => write!(
                f,
                "`{path}` is the root supervisor, not a child: use `shutdown_tree` to stop it"
            ),
            CommandError::ShuttingDown => {
                f.write_str("the tree is shutting down and accepts no commands")
            }
            CommandError::NotASupervisor { path } => {
                write!(f, "`{path}` is a service, not a supervisor")
            }
            CommandError::DynamicChildrenNotAllowed { supervisor } => write!(
                f,
                "`{supervisor}` takes no children at run time: allow some with `max_dynamic_children(n)`"
            ),
            CommandError::TooManyChildren { supervisor, max } => write!(
                f,
                "`{supervisor}` already holds {max} children added at run time, its limit"
            ),
            CommandError::DuplicateName { path } => {
                write!(f, "`{path}` exists already; sibling names must be unique")
            }
            CommandError::InvalidChild(error) => write!(f, "the new child is invalid: {error}"),
            CommandError::NotAPool { supervisor } => write!(
                f,
                "`{supervisor}` is not a pool: `start_child` needs one made with `ChildSpec::pool`"
            ),
            CommandError::WrongArguments { pool, expected } => write!(
                f,
                "the pool `{pool}` makes its children from a `{expected}`; pass one of those"
            ),
            CommandError::Interrupted { path } => write!(
                f,
                "the supervisor of `{path}` ended before answering; read the state and ask again"
            ),
        }
    }
}

impl std::error::Error for CommandError {}
