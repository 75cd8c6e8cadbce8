//! What runs a child's attempts.

/// What a child is, which decides how its attempts run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChildKind {
    /// A future on the Tokio runtime (the default). Aborted if it outstays its shutdown.
    #[default]
    Async,
    /// A plain function on Tokio's blocking pool. It can only stop cooperatively (by checking
    /// its context); one that outstays its shutdown is detached and reported, never waited for
    /// for ever.
    Blocking,
    /// A nested supervisor; its failure (restart intensity exceeded) is this child's failure.
    Supervisor,
}
