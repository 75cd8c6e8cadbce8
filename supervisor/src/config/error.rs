//! What is wrong with a configuration file: every problem at once, each with its place.

use std::fmt;

use super::yaml::Position;

/// One problem of a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file; `None` for the file as a whole (unreadable, say).
    pub position: Option<Position>,
    /// The field's path in the document, `.`-separated (`children.bot/feed.backoff.base`);
    /// empty for the document itself.
    pub field: String,
    /// The value as written, where one is to blame.
    pub value: Option<String>,
    /// What is wrong, and what would be accepted.
    pub message: String,
}

impl Problem {
    pub(crate) fn at(at: Position, field: &str, value: Option<String>, message: String) -> Self {
        Problem {
            position: (at != Position::default()).then_some(at),
            field: field.to_owned(),
            value,
            message,
        }
    }

    pub(crate) fn whole(message: String) -> Self {
        Problem {
            position: None,
            field: String::new(),
            value: None,
            message,
        }
    }
}

/// A configuration file that was rejected: which file, and every problem found in it, in the
/// order they appear. Nothing was started.
///
/// Its `Display` is one line per problem: `file:line:column: field: value: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFileError {
    origin: String,
    problems: Vec<Problem>,
}

impl ConfigFileError {
    pub(crate) fn new(origin: &str, mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(|problem| {
            problem
                .position
                .map_or((0, 0), |position| (position.line, position.column))
        });
        ConfigFileError {
            origin: origin.to_owned(),
            problems,
        }
    }

    /// The file (its path, or the name given to the text).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Every problem, in the order they appear in the file.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        write!(f, "{}: {count} {noun}; nothing was started", self.origin)?;
        for problem in &self.problems {
            write!(f, "\n  {}", self.origin)?;
            if let Some(position) = problem.position {
                write!(f, ":{position}")?;
            }
            f.write_str(": ")?;
            if !problem.field.is_empty() {
                write!(f, "`{}`: ", problem.field)?;
            }
            if let Some(value) = &problem.value {
                write!(f, "{value}: ")?;
            }
            f.write_str(&problem.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigFileError {}
