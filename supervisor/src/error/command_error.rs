use std::fmt;

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
            CommandError::Interrupted { path } => write!(
                f,
                "the supervisor of `{path}` ended before answering; read the state and ask again"
            ),
        }
    }
}

impl std::error::Error for CommandError {}
