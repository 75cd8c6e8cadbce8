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
pub(crate) struct Classified<F>(F);

impl<F> Classified<F> {
    pub(crate) fn new(future: F) -> Self {
        Classified(future)
    }
}

impl<F> Future for Classified<F>
where
    F: Future,
    F::Output: ServiceOutput,
{
    type Output = Result<(), ServiceError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field: it is never moved out, `Classified`
        // has no `Drop` impl and is `Unpin` only when `F` is.
        let future = unsafe { self.map_unchecked_mut(|classified| &mut classified.0) };
        future.poll(cx).map(ServiceOutput::into_service_result)
    }
}
