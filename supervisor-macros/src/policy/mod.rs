//! One grammar for policy options: parsed, checked and expanded the same way for
//! `#[service(..)]` and for a child's `with(..)` in `supervisor!`.

pub(crate) mod expand;
pub(crate) mod model;
pub(crate) mod parse;
mod validate;

pub(crate) use model::PolicyModel;
pub(crate) use validate::{Context, MAX_FAILURE_COUNT, nanos, validate};
