//! The extra arguments of `#[service]` functions.

/// What an extra argument of a [`#[service]`](macro@crate::service) function must be: it is
/// captured once, when the spec is made, and cloned for every attempt, so it is
/// `Clone + Send + Sync + 'static` (implemented for every such type; `&'static` values
/// included). Generated code calls only [`capture`](Self::capture) and
/// [`duplicate`](Self::duplicate), at the argument's type, so a type that is not one fails
/// there alone, with this trait's message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a supervised service",
    label = "captured once and cloned for every attempt, so it must be `Clone + Send + Sync + 'static`",
    note = "pass a shared handle instead: an `Arc<T>`, an `Arc<tokio::sync::Mutex<T>>` for what one attempt at a time may use (a `Receiver`, a connection), or a `Sender`; `&'static` values work as they are"
)]
pub trait SupervisedArgument: Sized {
    /// Keeps the value for the attempts.
    fn capture(self) -> Argument<Self>;

    /// A copy for one attempt of a service run as a `TradingService`.
    fn duplicate(&self) -> Self;
}

impl<T: Clone + Send + Sync + 'static> SupervisedArgument for T {
    fn capture(self) -> Argument<Self> {
        Argument {
            value: self,
            duplicate: <T as Clone>::clone,
        }
    }

    fn duplicate(&self) -> Self {
        self.clone()
    }
}

/// A captured argument: handed to each attempt as a fresh clone. Made only by
/// [`SupervisedArgument::capture`].
pub struct Argument<T> {
    value: T,
    duplicate: fn(&T) -> T,
}

impl<T> Argument<T> {
    /// A clone for one attempt.
    pub fn get(&self) -> T {
        (self.duplicate)(&self.value)
    }
}

// SAFETY: an `Argument` is made only by `SupervisedArgument::capture` (its fields are private),
// whose one impl requires `T: Send + Sync`; the function pointer is both.
unsafe impl<T> Send for Argument<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Argument<T> {}
