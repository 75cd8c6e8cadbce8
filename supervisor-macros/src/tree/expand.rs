//! A checked tree becomes a `SupervisorSpec` builder chain (the same calls a hand-written
//! tree makes) wrapped in a `DeclaredTree` with the root's orders as `'static` slices.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::alias::{self, Alias};
use super::mailbox::{self, Mailboxes};
use super::parse::{Child, ChildKind, PoolTemplate};
use super::resolve::{Node, Resolved};
use crate::policy;

pub(crate) fn expand(
    root: &Node,
    krate: &TokenStream,
    aliases: &[Alias],
    mailboxes: &Mailboxes,
) -> TokenStream {
    let p = quote!(#krate::__private);
    let imports = alias::imports(aliases, &p);
    let builder = builder(root, &p);
    let spec = if mailboxes.declared.is_empty() {
        quote!(#builder.build())
    } else {
        // The mailboxes first, for the children's arguments; a failure to make one is the
        // tree's error.
        let exit = syn::Lifetime::new("'__supervisor_tree", proc_macro2::Span::mixed_site());
        let made = mailbox::make(mailboxes, &p, &exit);
        quote!(#exit: { #made #builder.build() })
    };
    let names: Vec<TokenStream> = root
        .children
        .iter()
        .map(|c| runtime_name(c.child))
        .collect();
    let startup: Vec<&TokenStream> = root.startup_order.iter().map(|&i| &names[i]).collect();
    let shutdown: Vec<&TokenStream> = match root.stop_order.is_empty() {
        true => startup.iter().rev().copied().collect(),
        false => root.stop_order.iter().map(|&i| &names[i]).collect(),
    };
    let mut checks = Vec::new();
    collect_checks(root, &mut checks);
    quote! {
        {
            #imports
            #(#checks)*
            #p::DeclaredTree::new(
                #spec,
                &[#(#startup),*],
                &[#(#shutdown),*],
            )
        }
    }
}

/// The `const` cross-checks of every level, iteratively.
fn collect_checks<'a>(root: &'a Node, checks: &mut Vec<&'a TokenStream>) {
    let mut pending = vec![root];
    while let Some(node) = pending.pop() {
        for child in &node.children {
            checks.extend(&child.checks);
            pending.extend(child.nested.as_ref());
        }
    }
}

/// What stands in for the tree when it has errors: a value of the right type, so code using
/// the tree reports nothing more.
pub(crate) fn stub(krate: &TokenStream) -> TokenStream {
    quote!(#krate::__private::invalid_tree())
}

/// The name a child has at run time: a `#[service]`'s declared name, or its key.
fn runtime_name(child: &Child) -> TokenStream {
    match &child.kind {
        ChildKind::Service {
            path, alias: false, ..
        } => quote!(#path::NAME),
        _ => {
            let key = child.key.to_string();
            quote!(#key)
        }
    }
}

fn builder(node: &Node, p: &TokenStream) -> TokenStream {
    let name = &node.name;
    let mut chain = quote!(#p::SupervisorSpec::builder(#name));
    if let Some(strategy) = node.strategy {
        let variant = syn::Ident::new(&camel(strategy), proc_macro2::Span::call_site());
        chain.extend(quote!(.strategy(#p::Strategy::#variant)));
    }
    if let Some((max, within)) = node.intensity {
        chain.extend(quote!(.intensity(#max, #p::Duration::from_nanos(#within))));
    }
    if let Some(ns) = node.shutdown_timeout_ns {
        chain.extend(quote!(.shutdown_timeout(#p::Duration::from_nanos(#ns))));
    }
    if let Some(auto) = node.auto_shutdown {
        let variant = syn::Ident::new(&camel(auto), proc_macro2::Span::call_site());
        chain.extend(quote!(.auto_shutdown(#p::AutoShutdown::#variant)));
    }
    if let Some(max) = node.max_dynamic_children {
        let max = max as usize;
        chain.extend(quote!(.max_dynamic_children(#max)));
    }
    let names: Vec<TokenStream> = node
        .children
        .iter()
        .map(|c| runtime_name(c.child))
        .collect();
    for resolved in &node.children {
        let adjust = adjust(resolved, &names, p);
        match &resolved.nested {
            Some(nested) => {
                let nested = builder(nested, p);
                chain.extend(quote!(.nested(#nested, |child: #p::ChildSpec| child #adjust)));
            }
            None => {
                let child = child_expr(resolved.child, p);
                chain.extend(quote!(.child(#child #adjust)));
            }
        }
    }
    chain
}

fn child_expr(child: &Child, p: &TokenStream) -> TokenStream {
    let key = child.key.to_string();
    match &child.kind {
        ChildKind::Service { path, args, alias } => {
            let rename = alias.then(|| quote!(.with_name(#key)));
            // Spanned at the child, so that a wrong number of arguments is reported there.
            let span = path
                .segments
                .last()
                .map_or_else(proc_macro2::Span::call_site, |s| s.ident.span());
            let spec = quote_spanned!(span=> spec);
            let call = quote_spanned!(span=> #path::#spec(#args));
            quote!(#call #rename)
        }
        ChildKind::Closure(closure) => quote!(#p::service_fn(#key, #closure)),
        ChildKind::Spec(expr) => quote!(#p::ChildSpec::with_name(#expr, #key)),
        ChildKind::Pool { max, template, .. } => {
            let max = max.as_ref().map_or_else(|| quote!(0), |max| quote!(#max));
            let template = match template {
                PoolTemplate::Service(path) => {
                    quote!(|service: #path| #path::into_spec(service))
                }
                PoolTemplate::Closure(closure) => quote!(#closure),
            };
            quote!(#p::ChildSpec::pool(#key, #max, #template))
        }
        ChildKind::Nested(_) => TokenStream::new(),
    }
}

fn adjust(resolved: &Resolved, names: &[TokenStream], p: &TokenStream) -> TokenStream {
    let mut chain = policy::expand::chain(&resolved.overrides, p);
    let ordering: Vec<&TokenStream> = resolved
        .dependencies
        .iter()
        .filter(|i| !resolved.requirements.contains(i))
        .map(|&i| &names[i])
        .collect();
    if !ordering.is_empty() {
        chain.extend(quote!(.after([#(#ordering),*])));
    }
    if !resolved.requirements.is_empty() {
        let bound = resolved.requirements.iter().map(|&i| &names[i]);
        chain.extend(quote!(.requires([#(#bound),*])));
    }
    let mut declared: Vec<&syn::Ident> = Vec::new();
    for (name, span) in &resolved.child.mailboxes.sends {
        if !declared.contains(&name) {
            declared.push(name);
            let handle = mailbox::handle(name, *span);
            chain.extend(quote!(.produces(&#handle)));
        }
    }
    chain
}

fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
