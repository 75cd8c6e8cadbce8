//! Procedural macros of `supervisor`. Do not depend on this crate directly: use the macros
//! through `supervisor`, which re-exports them with their documentation.

mod common;
mod policy;
mod service;
#[cfg(test)]
mod snapshots;
mod tree;

use proc_macro::TokenStream;

/// Turns an `async fn` (or, with `blocking`, a plain fn) into a supervised service. See
/// `supervisor::service` for the option reference.
#[proc_macro_attribute]
pub fn service(args: TokenStream, item: TokenStream) -> TokenStream {
    common::guard::guarded("#[service]", item.clone().into(), || {
        service::expand(args.into(), item.into())
    })
    .into()
}

/// Declares a supervision tree inline. See `supervisor::supervisor` for the syntax.
#[proc_macro]
pub fn supervisor(input: TokenStream) -> TokenStream {
    common::guard::guarded("supervisor!", TokenStream::new().into(), || {
        tree::expand(input.into())
    })
    .into()
}
