//! Tokens from the model: a type named after the function (an enum with one variant,
//! `Service`, holding the arguments) whose associated items are `spec(..)` (a `ChildSpec`
//! builder chain of constants around a tiny cloning closure) and `NAME`, and which is a
//! `TradingService`. Generated code reaches the runtime only through `__private`.
//!
//! The type lives in the type namespace and the function in the value namespace, so both keep
//! the one name, and the items sit in the function's own scope: arguments resolve as the
//! function sees them, in a module or inside a function body alike. The impls are nested in
//! the variant's discriminant so that everything generated is a single item: beside a fn in an
//! `impl` block (which an attribute cannot detect) rustc then reports one error, not three.

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
    let ident = &function.sig.ident;
    let name = &model.name;
    let idents: Vec<_> = shape.extras.iter().map(|e| &e.ident).collect();
    let types: Vec<_> = shape.extras.iter().map(|e| parameter_type(e, &p)).collect();
    let owned: Vec<_> = shape
        .extras
        .iter()
        .filter(|e| !e.leased)
        .map(|e| &e.ident)
        .collect();
    let ctx = syn::Ident::new("ctx", Span::mixed_site());
    // Captured once, at the argument's type: a type that cannot be captured fails here alone.
    let captures = shape.extras.iter().filter(|e| !e.leased).map(|e| {
        let (ty, ident) = (&e.ty, &e.ident);
        quote_spanned!(ty.span()=> let #ident = <#ty as #p::SupervisedArgument>::capture(#ident);)
    });
    let constructor = if model.blocking {
        quote!(#p::blocking_child)
    } else {
        quote!(#p::async_child)
    };
    // Spanned at the fn name, so a future that is not `Send` is reported there.
    let constructor = respan(constructor, ident.span());
    let call = quote_spanned!(ident.span()=> #ident);
    let attempt = classify(
        model.blocking,
        shape,
        ident,
        &p,
        quote_spanned!(ident.span()=> #call(#ctx, #(#idents),*)),
    );
    let child = match shape.extras.iter().find(|e| e.leased) {
        None => quote_spanned! {ident.span()=>
            #constructor(#name, move |#ctx: #p::TaskContext| {
                #(let #idents = #idents.get();)*
                #attempt
            })
        },
        // Each attempt borrows the inbox the tree lends it; its future is boxed for that.
        Some(leased) => {
            let (inbox, inbox_ty) = (&leased.ident, &leased.ty);
            let constructor = respan(quote!(#p::inbox_child), ident.span());
            let boxed = respan(quote!(#p::Box::pin), ident.span());
            quote_spanned! {ident.span()=>
                #constructor(#name, #inbox, move |#ctx: #p::TaskContext, #inbox: &mut #inbox_ty| {
                    #(let #owned = #owned.get();)*
                    #boxed(#attempt)
                })
            }
        }
    };
    let chain = policy::expand::chain(&model.policy, &p);
    // Every spec of this service shares one copy of its declared policy.
    let shared = (!chain.is_empty()).then(|| {
        quote! {
            .with_shared_policy(
                {
                    static POLICY: #p::SharedPolicy = #p::SharedPolicy::new();
                    &POLICY
                },
                |spec| spec #chain,
            )
        }
    });
    let consts = declared_consts(
        matches!(model.policy.readiness, Some(Readiness::Explicit(_))),
        model.policy.restart == Some(Restart::Always),
        model.policy.significant,
        model.policy.breaker_max_failures(),
    );
    // A `TradingService` runs without a tree to lend it an inbox.
    let leases = shape.extras.iter().any(|e| e.leased);
    let service = (!model.blocking && !leases).then(|| trading_service(model, &p, ident, shape));
    let pattern = (!idents.is_empty()).then(|| quote!((#(#idents),*)));
    let items = quote! {
        #[allow(non_local_definitions)]
        impl #ident {
            /// The `ChildSpec` of this service: its policies as declared, the arguments
            /// captured once and cloned for every attempt.
            pub fn spec(#(#idents: #types),*) -> #p::ChildSpec {
                #(#captures)*
                #child #shared
            }

            /// The `ChildSpec` of this value: [`spec`](Self::spec) with the arguments it
            /// holds. A pool of this service (`pool key(max = ..) = service` in
            /// `supervisor!`) makes each child this way from `start_child`'s value.
            pub fn into_spec(self) -> #p::ChildSpec {
                let #ident::Service #pattern = self;
                Self::spec(#(#idents),*)
            }

            /// The service's name.
            pub const NAME: &'static str = #name;

            #consts
        }

        #service
    };
    service_type(function, shape, &p, items)
}

/// The type `spec(..)` takes for the argument: its own, or for a borrowed inbox the source the
/// tree lends it from (a mailbox's `Consumer`), named at the argument's type so that a type
/// that cannot be lent is reported there.
fn parameter_type(extra: &super::signature::Extra, p: &TokenStream) -> TokenStream {
    let ty = &extra.ty;
    if extra.leased {
        quote_spanned!(ty.span()=> <#ty as #p::Lease>::Source)
    } else {
        quote!(#ty)
    }
}

/// `call` (the fn's future, or a blocking fn's value) classified, through the return type's
/// own `ServiceOutput` impl named at that type: an unsupported (say, aliased) type is reported
/// there, once (rustc merges the identical errors of `spec` and the `TradingService` impl).
fn classify(
    blocking: bool,
    shape: &Shape,
    ident: &syn::Ident,
    p: &TokenStream,
    call: TokenStream,
) -> TokenStream {
    let (span, output) = match &shape.output {
        Some(ty) => (ty.span(), quote!(#ty)),
        None => (ident.span(), quote!(())),
    };
    if blocking {
        let classify = quote_spanned!(span=> <#output as #p::ServiceOutput>::into_service_result);
        quote!(#classify(#call))
    } else {
        // One `Send` check for both uses, on the fn's own future at the fn name: a future
        // holding an `Rc` across an `.await` is reported once, in the user's terms.
        let send = respan(quote!(#p::send_attempt), ident.span());
        let classify = quote_spanned!(span=> <#output as #p::ServiceOutput>::into_service_result);
        let classified = respan(quote!(#p::classified), ident.span());
        quote_spanned!(ident.span()=> #classified(#send(#call), #classify))
    }
}

/// The enum named after the function, with `items` (its impls) inside.
fn service_type(
    function: &ServiceFn,
    shape: &Shape,
    p: &TokenStream,
    items: TokenStream,
) -> TokenStream {
    let vis = &function.vis;
    let ident = &function.sig.ident;
    let types = shape.extras.iter().map(|e| parameter_type(e, p));
    let fields = (!shape.extras.is_empty()).then(|| quote!((#(#types),*)));
    let doc = format!(
        "Supervision of the `{ident}` service (`#[service]`): [`{ident}::spec`] makes its \
         `ChildSpec`, [`{ident}::NAME`] is its name."
    );
    // The impls stand in the discriminant (allowed: the type is right beside them).
    // `enum` spanned at the fn name: beside a fn in an `impl` block, that is where rustc's
    // one error ("enum is not supported in `impl`s") lands.
    let keyword = quote_spanned!(ident.span()=> enum);
    let variant_doc = if shape.extras.iter().any(|e| e.leased) {
        "The service with its arguments (the inbox's consumer among them), for `into_spec`."
    } else {
        "The service with its arguments, as a `TradingService` for `Supervisor::spawn_service` \
         (async services). Only the name and restart policy travel with it; `spec` carries \
         every declared policy."
    };
    quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #[repr(u8)]
        #vis #keyword #ident {
            #[doc = #variant_doc]
            Service #fields = {
                #items
                0
            },
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
    let pattern = (!idents.is_empty()).then(|| quote!((#(#idents),*)));
    // Spanned at the argument's type, like the capture in `spec`: a type that is not an
    // argument gives the same error at the same place, which rustc reports once.
    let clones = shape.extras.iter().map(|e| {
        let (ty, ident) = (&e.ty, &e.ident);
        quote_spanned!(ty.span()=> <#ty as #p::SupervisedArgument>::duplicate(#ident))
    });
    let call = quote_spanned!(ident.span()=> #ident);
    let boxed = respan(quote!(#p::Box::pin), ident.span());
    let ctx = syn::Ident::new("ctx", Span::mixed_site());
    let attempt = classify(
        false,
        shape,
        ident,
        p,
        quote_spanned!(ident.span()=> #call(#ctx, #(#clones),*)),
    );
    let run = quote_spanned!(ident.span()=> #boxed(#attempt));
    let name = &model.name;
    let restart = restart_variant(model.policy.restart.unwrap_or(Restart::OnFailure));
    quote! {
        #[automatically_derived]
        #[allow(non_local_definitions)]
        impl #p::TradingService for #ident {
            fn name(&self) -> &str {
                #name
            }

            fn restart_policy(&self) -> #p::RestartPolicy {
                #p::RestartPolicy::#restart
            }

            fn run(&self, #ctx: #p::TaskContext) -> #p::ServiceFuture<'_> {
                let #ident::Service #pattern = self;
                #run
            }
        }
    }
}

/// What is emitted when the input has errors: the same items with the right signatures and
/// no logic, so one mistake does not cascade into "cannot find `spec`".
pub(crate) fn stub(function: &ServiceFn, shape: &Shape) -> TokenStream {
    if shape.method {
        // Nothing can stand beside a method in an impl block.
        return TokenStream::new();
    }
    let ident = &function.sig.ident;
    // Generic like the function, so that a tree's call with any arguments type-checks and
    // only the attribute's error shows.
    let (generics, where_clause) = (&function.sig.generics, &function.sig.generics.where_clause);
    let p = quote!(::supervisor::__private);
    let idents = shape.extras.iter().map(|e| &e.ident);
    let types = shape.extras.iter().map(|e| parameter_type(e, &p));
    // Whatever a tree checks against passes, so that only the attribute's errors show.
    let consts = declared_consts(true, false, false, u32::MAX);
    let fallback_name = ident.to_string();
    let items = quote! {
        #[allow(non_local_definitions)]
        impl #ident {
            #[allow(unused_variables)]
            pub fn spec #generics (#(#idents: #types),*) -> ::supervisor::__private::ChildSpec #where_clause {
                ::core::unimplemented!()
            }

            #[doc(hidden)]
            pub const NAME: &'static str = #fallback_name;

            #[doc(hidden)]
            pub fn into_spec(self) -> ::supervisor::__private::ChildSpec {
                ::core::unimplemented!()
            }

            #consts
        }
    };
    let bare = Shape {
        extras: Vec::new(),
        method: false,
        output: None,
    };
    service_type(function, &bare, &p, items)
}

/// What `supervisor!` checks a `with(..)` override against at compile time.
fn declared_consts(explicit: bool, always: bool, significant: bool, breaker: u32) -> TokenStream {
    quote! {
        /// Failures its circuit breaker allows (`u32::MAX` without one), which a mailbox's
        /// `max_deliveries` must stay below.
        #[doc(hidden)]
        pub const BREAKER_MAX_FAILURES: u32 = #breaker;
        #[doc(hidden)]
        pub const EXPLICIT_READINESS: bool = #explicit;
        #[doc(hidden)]
        pub const RESTARTS_ALWAYS: bool = #always;
        #[doc(hidden)]
        pub const SIGNIFICANT: bool = #significant;
        /// Tells `supervisor!` that this is a `#[service]` (a plain fn has no such item).
        #[doc(hidden)]
        pub const IS_SERVICE: bool = true;
    }
}
