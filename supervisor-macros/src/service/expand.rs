//! Tokens from the model: a module named after the function with `spec(..)` (a `ChildSpec`
//! builder chain of constants around a tiny cloning closure) and `Service` (a
//! `TradingService`). Generated code reaches the runtime only through `__private`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::ServiceModel;
use super::signature::{ServiceFn, Shape};
use crate::policy;
use crate::policy::expand::restart_variant;
use crate::policy::model::{Readiness, Restart};

pub(crate) fn expand(model: &ServiceModel, function: &ServiceFn, shape: &Shape) -> TokenStream {
    let krate: syn::Path =
        syn::parse_str(&model.krate).unwrap_or_else(|_| syn::parse_quote!(::supervisor));
    let p = quote!(#krate::__private);
    let vis = &function.vis;
    let ident = &function.sig.ident;
    let name = &model.name;
    let idents: Vec<_> = shape.extras.iter().map(|e| &e.ident).collect();
    let types: Vec<_> = shape.extras.iter().map(|e| &e.ty).collect();
    let ctx = syn::Ident::new("ctx", Span::mixed_site());
    // Captured once, at the argument's type: a type that cannot be captured fails here alone.
    let captures = shape.extras.iter().map(|e| {
        let (ty, ident) = (&e.ty, &e.ident);
        quote_spanned!(ty.span()=> let #ident = <#ty as #p::SupervisedArgument>::capture(#ident);)
    });
    let output_check = shape
        .output
        .as_ref()
        .map(|ty| quote_spanned!(ty.span()=> #p::assert_service_output::<#ty>();));
    let constructor = if model.blocking {
        quote!(#p::blocking_child)
    } else {
        quote!(#p::async_child)
    };
    // Spanned at the fn name, so a future that is not `Send` is reported there.
    let constructor = respan(constructor, ident.span());
    let clones = shape.extras.iter().map(|e| {
        let value = &e.ident;
        quote!(#value.get())
    });
    let call = quote_spanned!(ident.span()=> super::#ident);
    let child = quote_spanned! {ident.span()=>
        #constructor(#name, move |#ctx: #p::TaskContext| {
            #(let #idents = #clones;)*
            #call(#ctx, #(#idents),*)
        })
    };
    let chain = policy::expand::chain(&model.policy, &p);
    let consts = declared_consts(
        matches!(model.policy.readiness, Some(Readiness::Explicit(_))),
        model.policy.restart == Some(Restart::Always),
        model.policy.significant,
    );
    let service = (!model.blocking).then(|| trading_service(model, &p, ident, shape));
    let doc = format!(
        "Supervision of the `{ident}` service (`#[service]`): [`spec`] makes its `ChildSpec`."
    );
    quote! {
        #[doc = #doc]
        #vis mod #ident {
            // The argument types are written as in the parent module.
            #[allow(unused_imports)]
            use super::*;

            /// The `ChildSpec` of this service: its policies as declared, the arguments
            /// captured once and cloned for every attempt.
            pub fn spec(#(#idents: #types),*) -> #p::ChildSpec {
                #(#captures)*
                #output_check
                #child #chain
            }

            /// The service's name.
            pub const NAME: &str = #name;

            #consts

            #service
        }
    }
}

/// The same tokens, all with `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = inner.into();
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

fn trading_service(
    model: &ServiceModel,
    p: &TokenStream,
    ident: &syn::Ident,
    shape: &Shape,
) -> TokenStream {
    let idents: Vec<_> = shape.extras.iter().map(|e| &e.ident).collect();
    let types: Vec<_> = shape.extras.iter().map(|e| &e.ty).collect();
    let fields = shape.extras.iter().map(|e| {
        let field = &e.ident;
        quote!(self.#field.get())
    });
    let captures = shape.extras.iter().map(|e| {
        let (ty, ident) = (&e.ty, &e.ident);
        quote_spanned!(ty.span()=> #ident: <#ty as #p::SupervisedArgument>::capture(#ident))
    });
    let call = quote_spanned!(ident.span()=> super::#ident);
    let boxed = respan(quote!(#p::Box::pin), ident.span());
    let into_result = respan(quote!(#p::into_service_result), ident.span());
    let ctx = syn::Ident::new("ctx", Span::mixed_site());
    let run = quote_spanned!(ident.span()=> #boxed(#into_result(#call(#ctx, #(#fields),*))));
    let name = &model.name;
    let restart = restart_variant(model.policy.restart.unwrap_or(Restart::OnFailure));
    quote! {
        /// The service as a `TradingService`, for `Supervisor::spawn_service`. Only the name
        /// and restart policy travel with it; [`spec`] carries every declared policy.
        #[allow(dead_code)]
        pub struct Service {
            #(
                /// Captured once, cloned into every attempt.
                #idents: #p::Argument<#types>,
            )*
        }

        #[allow(dead_code)]
        impl Service {
            /// The service with its arguments.
            pub fn new(#(#idents: #types),*) -> Self {
                Service { #(#captures),* }
            }
        }

        #[automatically_derived]
        impl #p::TradingService for Service {
            fn name(&self) -> &str {
                #name
            }

            fn restart_policy(&self) -> #p::RestartPolicy {
                #p::RestartPolicy::#restart
            }

            fn run(&self, #ctx: #p::TaskContext) -> #p::ServiceFuture<'_> {
                #run
            }
        }
    }
}

/// What is emitted when the input has errors: the same items with the right signatures and
/// no logic, so one mistake does not cascade into "cannot find `spec`".
pub(crate) fn stub(function: &ServiceFn, shape: &Shape) -> TokenStream {
    if shape.method {
        // A module cannot stand in an impl block.
        return TokenStream::new();
    }
    let vis = &function.vis;
    let ident = &function.sig.ident;
    // Generic like the function, so that a tree's call with any arguments type-checks and
    // only the attribute's error shows.
    let (generics, where_clause) = (&function.sig.generics, &function.sig.generics.where_clause);
    let idents = shape.extras.iter().map(|e| &e.ident);
    let types = shape.extras.iter().map(|e| &e.ty);
    // Whatever a tree checks against passes, so that only the attribute's errors show.
    let consts = declared_consts(true, false, false);
    quote! {
        #vis mod #ident {
            #[allow(unused_imports)]
            use super::*;

            #[allow(unused_variables)]
            pub fn spec #generics (#(#idents: #types),*) -> ::supervisor::__private::ChildSpec #where_clause {
                ::core::unimplemented!()
            }

            #consts
        }
    }
}

/// What `supervisor!` checks a `with(..)` override against at compile time.
fn declared_consts(explicit: bool, always: bool, significant: bool) -> TokenStream {
    quote! {
        #[doc(hidden)]
        pub const EXPLICIT_READINESS: bool = #explicit;
        #[doc(hidden)]
        pub const RESTARTS_ALWAYS: bool = #always;
        #[doc(hidden)]
        pub const SIGNIFICANT: bool = #significant;
    }
}
