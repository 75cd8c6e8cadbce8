//! Pieces shared by the macros: duration literals, "did you mean", the panic guard.

pub(crate) mod duration;
pub(crate) mod errors;
pub(crate) mod guard;
pub(crate) mod suggest;
