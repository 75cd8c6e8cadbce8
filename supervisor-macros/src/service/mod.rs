//! `#[service]`: parse the options and the signature, validate, build a plain model, expand.

mod expand;
mod model;
mod parse;
mod signature;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::common::errors::Errors;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse2::<signature::ServiceFn>(item.clone()) {
        Ok(function) => function,
        // Not a function we can read: give it back untouched, beside the error.
        Err(error) => {
            let error = error.to_compile_error();
            return quote! { #item #error };
        }
    };
    let mut errors = Errors::default();
    let options = parse::parse_options(args, &mut errors);
    let shape = signature::analyse(&function, &mut errors);
    // Validated even after parse errors: every mistake shows in one compile.
    let model = validate::validate(options, &function, &shape, &mut errors);
    let generated = match (&model, errors.is_empty()) {
        (Some(model), true) => expand::expand(model, &function, &shape),
        _ => expand::stub(&function, &shape),
    };
    let errors = errors.to_compile_errors();
    // The user's function stays exactly as written, whatever else happened.
    quote! { #item #generated #errors }
}
