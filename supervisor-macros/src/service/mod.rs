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
    if let Some(inner) = function.attrs.iter().find(|a| a.path().is_ident("service")) {
        // The inner attribute generates the items; this one only reports.
        let error = syn::Error::new_spanned(
            inner,
            "`#[service]` is applied twice to this function; keep one",
        )
        .to_compile_error();
        return quote! { #item #error };
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_gives_errors_not_panics() {
        let inputs = [
            (
                quote!(restart = ),
                quote!(
                    async fn f(ctx: TaskContext) {}
                ),
            ),
            (
                quote!(backoff(base = "1s"), ,),
                quote!(
                    async fn f(ctx: TaskContext) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    struct NotAFunction;
                ),
            ),
            (quote!(tags(1, 2)), quote!(fn)),
            (
                quote!(crate = "::"),
                quote!(
                    async fn f(ctx: TaskContext, (a, b): (u8, u8)) {}
                ),
            ),
        ];
        for (args, item) in inputs {
            let out = expand(args.clone(), item.clone()).to_string();
            assert!(out.contains("compile_error"), "{args} / {item}: {out}");
        }
    }

    #[test]
    fn a_valid_service_expands_to_its_type() {
        let out = expand(
            quote!(restart = "always"),
            quote!(
                async fn feed(ctx: TaskContext, venue: Venue) {}
            ),
        )
        .to_string();
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("enum feed"), "{out}");
        assert!(out.contains("RestartPolicy :: Always"), "{out}");
    }
}
