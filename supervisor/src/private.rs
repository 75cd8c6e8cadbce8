//! Support for the code that `#[service]` and `supervisor!` generate.
//!
//! **Not public API.** Everything here may change in any release; only the macros may use it.
//! Generated code names these items by absolute path (`::supervisor::__private::...`), so a
//! renamed dependency only needs `crate = "path"`.

use std::future::Future;
use std::sync::Arc;

pub use crate::context::TaskContext;
pub use crate::error::ServiceError;
pub use crate::model::{AutoShutdown, Strategy};
pub use crate::model::{
    BackoffConfig, CircuitBreakerConfig, Jitter, OnOpen, Readiness, RestartPolicy, ShutdownPolicy,
};
pub use crate::service::{ServiceFuture, TradingService};
pub use crate::spec::{Argument, SupervisedArgument};
pub use crate::spec::{
    ChildSpec, DeclaredTree, ServiceOutput, SharedPolicy, SupervisorSpec, SupervisorSpecBuilder,
    blocking_fn, service_fn,
};
pub use ::core::time::Duration;
pub use ::std::boxed::Box;

/// An async child whose factory is a generated closure.
pub fn async_child<F, Fut>(name: &'static str, run: F) -> ChildSpec
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: ServiceOutput,
{
    service_fn(Arc::<str>::from(name), run)
}

/// An async child consuming the mailbox of `consumer`, whose factory is a generated closure.
pub fn inbox_child<T, D, F>(
    name: &'static str,
    consumer: crate::mailbox::Consumer<T, D>,
    run: F,
) -> ChildSpec
where
    T: Send + 'static,
    D: crate::mailbox::DeliveryMode,
    F: for<'a> Fn(
            TaskContext,
            &'a mut crate::mailbox::Inbox<T, D>,
        ) -> crate::mailbox::InboxFuture<'a, Result<(), ServiceError>>
        + Send
        + Sync
        + 'static,
{
    crate::mailbox::service_with_inbox(Arc::<str>::from(name), consumer, run)
}

pub use crate::mailbox::{Lease, Mailbox};

/// A blocking child whose function is a generated closure.
pub fn blocking_child<F, R>(name: &'static str, run: F) -> ChildSpec
where
    F: Fn(TaskContext) -> R + Send + Sync + 'static,
    R: ServiceOutput,
{
    blocking_fn(Arc::<str>::from(name), run)
}

/// An attempt's future, checked to be `Send` (generated code calls this for both the spec
/// and the `TradingService`, so a violation is reported once, at the fn name).
pub fn send_attempt<F: Future + Send>(attempt: F) -> F {
    attempt
}

/// A service fn's future with its output classified by `classify` (the return type's own
/// `ServiceOutput` impl, named at that type, so that an unsupported type is reported there,
/// once): a poll adapter, not an `async` block, so the attempt holds the fn's future once.
pub fn classified<F: Future>(
    attempt: F,
    classify: fn(F::Output) -> Result<(), ServiceError>,
) -> impl Future<Output = Result<(), ServiceError>> {
    crate::spec::Classified::with(attempt, classify)
}

/// What `supervisor!` evaluates to when it has errors (they are reported beside it).
pub fn invalid_tree() -> DeclaredTree {
    let error = crate::error::SpecError::EmptyName {
        supervisor: String::new(),
    };
    DeclaredTree::new(Err(error), &[], &[])
}
