//! Each service child's path is imported under a local name, `use path as __svN;`, beside a
//! glob import of a fallback type of that same name. An explicit import shadows a glob one in
//! each namespace on its own, so the fallback is seen only when `path` has no type, which is
//! a plain fn without `#[service]`: the fallback then answers every item the tree uses, and a
//! `const` check reports the one error, on the child, in our words (instead of rustc's
//! "function is not a crate or module"). A misspelt path fails the import (rustc's error);
//! the fallback's value (a constant, which a pattern matches by value, where a fn name would
//! just bind) then keeps the check quiet, so that error stays the only one.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::parse::{ChildKind, PoolTemplate, Tree};

/// A service child's original path, before it was replaced by its local name.
pub(crate) struct Alias {
    local: syn::Ident,
    path: syn::Path,
    arguments: usize,
}

/// Replaces every service path of the tree (all levels) by a local name.
pub(crate) fn localize(tree: &mut Tree) -> Vec<Alias> {
    let mut aliases = Vec::new();
    let mut pending = vec![tree];
    while let Some(tree) = pending.pop() {
        for child in &mut tree.children {
            match &mut child.kind {
                ChildKind::Service { path, args, .. } => {
                    let arguments = args.len();
                    aliases.push(localize_one(path, aliases.len(), arguments));
                }
                ChildKind::Pool {
                    template: PoolTemplate::Service(path),
                    ..
                } => aliases.push(localize_one(path, aliases.len(), 0)),
                ChildKind::Nested(nested) => pending.push(nested),
                ChildKind::Closure(_) | ChildKind::Spec(_) | ChildKind::Pool { .. } => {}
            }
        }
    }
    aliases
}

/// Replaces `path` by the local name `__sv{number}`, remembering the original.
fn localize_one(path: &mut syn::Path, number: usize, arguments: usize) -> Alias {
    let local = format_ident!("__sv{}", number, span = last_span(path));
    let original = std::mem::replace(path, local.clone().into());
    Alias {
        local,
        path: original,
        arguments,
    }
}

/// The imports, the fallbacks and the checks, for the top of the tree's block.
pub(crate) fn imports(aliases: &[Alias], p: &TokenStream) -> TokenStream {
    let fallbacks = aliases.iter().map(|alias| fallback(alias, p));
    let uses = aliases.iter().map(|Alias { local, path, .. }| {
        quote! {
            #[allow(unused_imports)]
            use #path as #local;
        }
    });
    let checks = aliases.iter().map(|Alias { local, path, .. }| {
        let shown = quote!(#path).to_string().replace(' ', "");
        let message = format!(
            "`{shown}` is not a service: add `#[service]` to its `async fn` (the attribute \
             generates what the tree uses, `{shown}::spec(..)`), or write a closure child \
             `key = |ctx| {shown}(ctx, ..)`"
        );
        quote_spanned! {last_span(path)=>
            const _: () = {
                // A fn cannot be a pattern, so there `#local` binds and matches; the
                // fallback's constant `[0]` does not match.
                #[allow(unreachable_patterns, unused_variables)]
                let plain_fn = match [1u8] {
                    #local => true,
                    _ => false,
                };
                if !#local::IS_SERVICE && plain_fn {
                    ::core::panic!(#message)
                }
            };
        }
    });
    quote! {
        #[allow(non_camel_case_types, non_upper_case_globals, dead_code)]
        mod __sv_fallbacks {
            #(#fallbacks)*
        }
        #[allow(unused_imports)]
        use __sv_fallbacks::*;
        #(#uses)*
        #(#checks)*
    }
}

/// A type with every item a tree uses of a service, for a path that is no service.
fn fallback(alias: &Alias, p: &TokenStream) -> TokenStream {
    let local = &alias.local;
    let generics: Vec<_> = (0..alias.arguments)
        .map(|i| format_ident!("A{i}"))
        .collect();
    quote! {
        pub enum #local {}
        pub const #local: [u8; 1] = [0];
        impl #local {
            pub const NAME: &'static str = "";
            pub const IS_SERVICE: bool = false;
            // What the other checks need to pass, so that only the one above fails.
            pub const EXPLICIT_READINESS: bool = true;
            pub const RESTARTS_ALWAYS: bool = false;
            pub const SIGNIFICANT: bool = false;
            pub const BREAKER_MAX_FAILURES: u32 = u32::MAX;
            pub fn spec<#(#generics),*>(#(_: #generics),*) -> #p::ChildSpec {
                ::core::unreachable!()
            }
            pub fn into_spec(self) -> #p::ChildSpec {
                match self {}
            }
        }
    }
}

fn last_span(path: &syn::Path) -> Span {
    path.segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span())
}
