//! Collects every error of an expansion before failing, so one compile shows them all.

use proc_macro2::TokenStream;

#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    pub(crate) fn push_at(&mut self, span: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new_spanned(span, message));
    }

    /// These errors followed by `other`'s.
    pub(crate) fn merge(mut self, other: Errors) -> Errors {
        self.errors.extend(other.errors);
        self
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }
}
