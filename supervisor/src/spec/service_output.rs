use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::ServiceError;

/// What a service body may return: `()`, `Result<(), ServiceError>`, or `Result<(), E>` for
/// any error that converts into a [`ServiceError`] (std errors, `anyhow::Error`, ...).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported return type of a service",
    label = "a service returns `()` or `Result<(), E>`",
    note = "supported: `()`, `Result<(), E>` for an error `E` that converts into `Box<dyn Error + Send + Sync>` (std errors, `anyhow::Error`, ...), or `Result<(), ServiceError>`"
)]
pub trait ServiceOutput {
    /// The result the supervisor classifies.
    fn into_service_result(self) -> Result<(), ServiceError>;
}

impl ServiceOutput for () {
    fn into_service_result(self) -> Result<(), ServiceError> {
        Ok(())
    }
}

impl<E: Into<ServiceError>> ServiceOutput for Result<(), E> {
    fn into_service_result(self) -> Result<(), ServiceError> {
        self.map_err(Into::into)
    }
}

/// A service's future with its output classified: a plain adapter instead of an
/// `async move { fut.await.into_service_result() }` block, whose state would hold the user's
/// future twice (as the captured value and as the one being awaited).
pub(crate) struct Classified<F, C = ByServiceOutput> {
    future: F,
    classify: C,
}

/// How a [`Classified`] turns its future's output into the attempt's result.
pub(crate) trait Classify<O> {
    fn classify(&self, output: O) -> Result<(), ServiceError>;
}

/// By the output's own [`ServiceOutput`] impl (no bytes).
pub(crate) struct ByServiceOutput;

impl<O: ServiceOutput> Classify<O> for ByServiceOutput {
    fn classify(&self, output: O) -> Result<(), ServiceError> {
        output.into_service_result()
    }
}

/// By a function named in generated code (at the return type, for its diagnostics).
impl<O> Classify<O> for fn(O) -> Result<(), ServiceError> {
    fn classify(&self, output: O) -> Result<(), ServiceError> {
        self(output)
    }
}

impl<F> Classified<F> {
    pub(crate) fn new(future: F) -> Self {
        Classified::with(future, ByServiceOutput)
    }
}

impl<F, C> Classified<F, C> {
    pub(crate) fn with(future: F, classify: C) -> Self {
        Classified { future, classify }
    }
}

impl<F, C> Future for Classified<F, C>
where
    F: Future,
    C: Classify<F::Output>,
{
    type Output = Result<(), ServiceError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of `future` only: it is never moved out, `Classified`
        // has no `Drop` impl, and `classify` is only read through a shared reference.
        let this = unsafe { self.get_unchecked_mut() };
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let output = std::task::ready!(future.poll(cx));
        Poll::Ready(this.classify.classify(output))
    }
}
