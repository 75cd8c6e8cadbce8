//! A macro must never panic: a panic becomes a compile error next to the user's item.

use std::panic::{AssertUnwindSafe, catch_unwind};

use proc_macro2::{Span, TokenStream};
use quote::quote;

/// Runs `expand`; if it panics, returns the item unchanged with an "internal error" beside it.
pub(crate) fn guarded(
    macro_name: &str,
    item: TokenStream,
    expand: impl FnOnce() -> TokenStream,
) -> TokenStream {
    match catch_unwind(AssertUnwindSafe(expand)) {
        Ok(tokens) => tokens,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let message = format!(
                "internal error in {macro_name}, please report it with the input that caused it: {detail}"
            );
            let error = syn::Error::new(Span::call_site(), message).to_compile_error();
            quote! { #item #error }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_beside_the_item() {
        let item = quote! { fn kept() {} };
        let out = guarded("#[service]", item, || panic!("boom")).to_string();
        assert!(out.starts_with("fn kept"), "{out}");
        assert!(out.contains("internal error in #[service]"), "{out}");
        assert!(out.contains("boom"), "{out}");
    }
}
