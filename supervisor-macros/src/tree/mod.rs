//! `supervisor!`: parse, resolve (names, dependencies, cycles), expand.

mod alias;
mod drain;
mod expand;
mod graph;
mod mailbox;
mod parse;
mod resolve;

use proc_macro2::TokenStream;
use quote::quote;

use crate::common::errors::Errors;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let krate = quote!(::supervisor);
    let mut tree = match syn::parse2::<parse::Tree>(input) {
        Ok(tree) => tree,
        Err(error) => {
            let error = error.to_compile_error();
            let stub = expand::stub(&krate);
            return quote!({ #error #stub });
        }
    };
    let aliases = alias::localize(&mut tree);
    let mut errors = Errors::default();
    let mailboxes = mailbox::localize(&mut tree, &mut errors);
    let root = resolve::resolve(&tree, &mailboxes, &mut errors);
    if errors.is_empty() {
        let krate = root
            .krate
            .as_deref()
            .and_then(|path| path.parse::<TokenStream>().ok())
            .unwrap_or(krate);
        expand::expand(&root, &krate, &aliases, &mailboxes)
    } else {
        let errors = errors.to_compile_errors();
        let stub = expand::stub(&krate);
        quote!({ #errors #stub })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_gives_errors_not_panics() {
        for input in [
            quote!(name = ),
            quote!(a() after(b), b() after(a)),
            quote!(supervisor {}),
            quote!(x = , y),
            quote!(intensity(max_restarts = "a")),
            quote!(mailbox orders:),
            quote!(mailbox orders: u32),
            quote!(mailbox orders: u32(capacity)),
            quote!(mailbox orders: u32(capacity = 1), router(orders.inbox())),
        ] {
            let out = expand(input.clone()).to_string();
            assert!(out.contains("compile_error"), "{input}: {out}");
        }
    }
}
