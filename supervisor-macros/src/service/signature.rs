//! The function `#[service]` is applied to: only its signature is parsed; the body stays an
//! opaque token stream, so a half-typed body never breaks the expansion.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Pat, ReturnType, Signature, Type, Visibility};

use crate::common::errors::Errors;

pub(crate) struct ServiceFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
}

impl Parse for ServiceFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let _body: TokenStream = input.parse()?;
        Ok(ServiceFn { attrs, vis, sig })
    }
}

/// One extra argument: captured once by the factory, cloned for every attempt; or, `leased`,
/// the inbox `&mut ty` the tree lends each attempt.
pub(crate) struct Extra {
    pub(crate) ident: syn::Ident,
    /// The argument's type; for a leased one, the type behind the `&mut`.
    pub(crate) ty: Type,
    pub(crate) leased: bool,
}

/// What the signature says, once checked.
pub(crate) struct Shape {
    pub(crate) extras: Vec<Extra>,
    /// A method (`self`): nothing can be generated beside it.
    pub(crate) method: bool,
    /// The declared return type (`()` when omitted).
    pub(crate) output: Option<Type>,
}

const ACCEPTED_RETURNS: &str = "a service returns `()`, `Result<(), E>` for an error `E` that converts into `Box<dyn Error + Send + Sync>` (std errors, `anyhow::Error`, ...), or `Result<(), ServiceError>`";

/// Checks the signature; every problem becomes an error on the offending token.
pub(crate) fn analyse(function: &ServiceFn, errors: &mut Errors) -> Shape {
    let sig = &function.sig;
    if let Some(constness) = &sig.constness {
        errors.push_at(constness, "a service cannot be a `const fn`");
    }
    if let syn::Safety::Unsafe(token) = &sig.safety {
        errors.push_at(token, "a service cannot be an `unsafe fn`");
    }
    if let Some(abi) = &sig.abi {
        errors.push_at(abi, "a service cannot have an `extern` ABI");
    }
    if let Some(variadic) = &sig.variadic {
        errors.push_at(variadic, "a service cannot be variadic");
    }
    let only_lifetimes = sig
        .generics
        .params
        .iter()
        .all(|p| matches!(p, syn::GenericParam::Lifetime(_)));
    if !sig.generics.params.is_empty() && only_lifetimes {
        errors.push_at(
            &sig.generics,
            "a service cannot borrow: every attempt outlives the call that made its spec, so pass owned or `'static` values (`String`, `Arc<T>`, `&'static str`) instead of a lifetime parameter",
        );
    } else if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push_at(
            &sig.generics,
            "generic services are not supported: the supervisor runs one concrete function per service; use concrete argument types (a `Box<dyn Trait>` or an `Arc<dyn Trait>` if you need dynamic dispatch)",
        );
    }
    let extras = analyse_inputs(sig, errors);
    let output = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => {
            match &**ty {
                Type::ImplTrait(_) => errors.push_at(
                    ty,
                    format!("`impl Trait` is not a supported return type: {ACCEPTED_RETURNS}"),
                ),
                Type::Never(_) => errors.push_at(
                    ty,
                    format!("`!` is not a supported return type: {ACCEPTED_RETURNS}"),
                ),
                other => {
                    if let Some(problem) = unsupported_return(other) {
                        errors.push_at(ty, format!("{problem}: {ACCEPTED_RETURNS}"));
                    }
                }
            }
            Some((**ty).clone())
        }
    };
    Shape {
        extras,
        method: sig.receiver().is_some(),
        output,
    }
}

/// What is wrong with a return type that can be seen without the compiler: a `Result` whose
/// success type is not `()`, a primitive, a `String`, a tuple. Other paths (type aliases) are
/// left to the compiler's check.
fn unsupported_return(ty: &Type) -> Option<String> {
    match ty {
        Type::Tuple(tuple) if !tuple.elems.is_empty() => {
            Some("a tuple is not a supported return type".to_owned())
        }
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            let name = last.ident.to_string();
            if name == "Result" {
                let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                    return None;
                };
                let Some(syn::GenericArgument::Type(ok)) = args.args.first() else {
                    return None;
                };
                let unit = matches!(ok, Type::Tuple(t) if t.elems.is_empty());
                return (!unit).then(|| {
                    let ok = quote::quote!(#ok).to_string();
                    format!("a service's `Result` carries no value: `Result<{ok}, _>` is not supported (return `Result<(), _>` and send values through a channel or shared state)")
                });
            }
            const PLAIN: &[&str] = &[
                "bool", "char", "str", "String", "i8", "i16", "i32", "i64", "i128", "isize", "u8",
                "u16", "u32", "u64", "u128", "usize", "f32", "f64", "Option", "Vec",
            ];
            (path.path.segments.len() == 1 && PLAIN.contains(&name.as_str()))
                .then(|| format!("`{name}` is not a supported return type"))
        }
        _ => None,
    }
}

fn analyse_inputs(sig: &Signature, errors: &mut Errors) -> Vec<Extra> {
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            "a service takes `ctx: TaskContext` as its first parameter, e.g. `async fn feed(ctx: TaskContext)`",
        )),
        Some(FnArg::Receiver(receiver)) => errors.push_at(
            receiver,
            "a service is a free function, not a method: `self` receivers are not supported; pass the state as an argument after `ctx: TaskContext`",
        ),
        Some(FnArg::Typed(first)) => match context_kind(&first.ty) {
            Some(ContextKind::ByValue) => {}
            Some(ContextKind::ByReference) => errors.push_at(
                &first.ty,
                "take `TaskContext` by value (`ctx: TaskContext`): it is cheap to clone and each attempt gets its own",
            ),
            None => errors.push_at(
                &first.ty,
                "the first parameter of a service must be `ctx: TaskContext`",
            ),
        },
    }
    let mut extras = Vec::new();
    if sig.receiver().is_some() {
        // One error on `self` says it all.
        return extras;
    }
    for (position, input) in sig.inputs.iter().enumerate().skip(1) {
        let FnArg::Typed(arg) = input else {
            errors.push_at(
                input,
                "a service is a free function, not a method: `self` receivers are not supported",
            );
            continue;
        };
        if context_kind(&arg.ty).is_some() {
            errors.push_at(
                &arg.ty,
                "`TaskContext` must be the first parameter of a service; move it to the front",
            );
            continue;
        }
        let ident = match &*arg.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
            other => {
                // Destructuring patterns get a generated name; the fn itself still destructures.
                syn::Ident::new(&format!("__arg{position}"), other.span())
            }
        };
        match &*arg.ty {
            // The inbox the tree lends each attempt (`&mut Inbox<T>` or `&mut AckInbox<T>`,
            // named so); its message type and delivery mode are checked where the spec takes
            // its source.
            Type::Reference(reference)
                if reference.mutability.is_some()
                    && reference.lifetime.is_none()
                    && names_an_inbox(&reference.elem) =>
            {
                if let Some(first) = extras.iter().find(|e: &&Extra| e.leased) {
                    errors.push_at(
                        &arg.ty,
                        format!("a service borrows one mailbox's inbox, and `{}` is it already: take the other mailbox's messages in the same inbox, or in a service of their own", first.ident),
                    );
                    continue;
                }
                extras.push(Extra {
                    ident,
                    ty: (*reference.elem).clone(),
                    leased: true,
                });
                continue;
            }
            // A named lifetime other than 'static is reported once, at the fn's generics.
            Type::Reference(reference)
                if reference.lifetime.as_ref().is_none_or(|lifetime| {
                    lifetime.ident != "static" && sig.generics.params.is_empty()
                }) =>
            {
                errors.push_at(
                    &arg.ty,
                    "extra arguments are captured once and cloned for every attempt, so they must be owned `Clone + Send + Sync + 'static` values, not borrowed ones: take an owned type (`String`, `Arc<T>`, ...) or a `&'static` reference; the one borrowed argument a service may take is a mailbox's inbox, `&mut Inbox<T>` or `&mut AckInbox<T>`",
                );
                continue;
            }
            Type::ImplTrait(_) => {
                errors.push_at(
                    &arg.ty,
                    "`impl Trait` arguments are not supported: use a concrete type",
                );
                continue;
            }
            _ => {}
        }
        extras.push(Extra {
            ident,
            ty: (*arg.ty).clone(),
            leased: false,
        });
    }
    extras
}

/// Whether `ty` is written as an inbox (`Inbox<T>`, `mailbox::Inbox<T>`, `AckInbox<T>`).
fn names_an_inbox(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none()
    && path.path.segments.last().is_some_and(|segment| {
        segment.ident == "Inbox" || segment.ident == "AckInbox"
    }))
}

enum ContextKind {
    ByValue,
    ByReference,
}

fn context_kind(ty: &Type) -> Option<ContextKind> {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .filter(|segment| segment.ident == "TaskContext")
            .map(|_| ContextKind::ByValue),
        Type::Reference(reference) => {
            context_kind(&reference.elem).map(|_| ContextKind::ByReference)
        }
        _ => None,
    }
}
