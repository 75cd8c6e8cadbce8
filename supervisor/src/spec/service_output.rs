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
