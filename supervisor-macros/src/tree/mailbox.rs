//! The tree's mailboxes: `mailbox name: Type(options)` declarations, checked, and the
//! `name.inbox()`, `name.sender()` and `name.external()` calls in children's expressions,
//! rewritten to the mailbox the tree makes and counted (one consumer, a producer).

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident};

use super::parse::{ChildKind, HeaderItem, MailboxDecl, PoolTemplate, Tree};
use super::resolve::{root_name, string_literal};
use crate::common::errors::Errors;
use crate::common::suggest;

const OPTIONS: &[&str] = &[
    "capacity",
    "delivery",
    "max_deliveries",
    "dead_letters",
    "drain_on_shutdown",
];
const DELIVERIES: &[&str] = &["at_most_once", "at_least_once"];
/// The runtime's `MAX_CAPACITY` (Tokio's bound for a channel on a 64-bit target).
const MAX_CAPACITY: u64 = u64::MAX >> 3;
/// `max_deliveries` when at least once is declared without it.
const DEFAULT_MAX_DELIVERIES: u32 = 3;

/// A declared mailbox, checked.
pub(crate) struct Mailbox {
    pub(crate) name: Ident,
    ty: syn::Type,
    capacity: u64,
    /// `Some` at least once, with where it was written (the macro's default: the name).
    pub(crate) max_deliveries: Option<(u32, Span)>,
    drain_on_shutdown: Option<bool>,
    pub(crate) dead_letters: Option<Ident>,
}

#[derive(Default)]
pub(crate) struct Mailboxes {
    /// In the order they are made: a dead-letter mailbox before those that send into it.
    pub(crate) declared: Vec<Mailbox>,
}

impl Mailboxes {
    pub(crate) fn get(&self, name: &str) -> Option<&Mailbox> {
        self.declared.iter().find(|m| m.name == name)
    }
}

/// The handle the tree makes for mailbox `name` (hygienic: user code cannot name it).
pub(crate) fn handle(name: &Ident, at: Span) -> Ident {
    format_ident!(
        "__supervisor_mailbox_{}",
        name,
        span = Span::mixed_site().located_at(at)
    )
}

fn consumer(name: &Ident, at: Span) -> Ident {
    format_ident!(
        "__supervisor_consumer_{}",
        name,
        span = Span::mixed_site().located_at(at)
    )
}

/// Checks the declarations, rewrites the uses in every child and records them on it, and
/// checks that each mailbox has one consumer and a producer.
pub(crate) fn localize(tree: &mut Tree, errors: &mut Errors) -> Mailboxes {
    let declared = declarations(tree, errors);
    if declared.is_empty() {
        return Mailboxes::default();
    }
    let names: Vec<String> = declared.iter().map(|m| m.name.to_string()).collect();
    let mut consumers: HashMap<String, Vec<(String, Span)>> = HashMap::new();
    // The mailboxes something sends into.
    let mut produced: HashSet<String> = HashSet::new();
    let root = root_name(tree);
    let mut pending = vec![(tree, root)];
    while let Some((tree, path)) = pending.pop() {
        for child in &mut tree.children {
            let child_path = format!("{path}/{}", child.key);
            let mut rewrite = Rewrite {
                names: &names,
                found: Vec::new(),
                meant: Vec::new(),
                errors,
            };
            let (consumes_allowed, what) = match &mut child.kind {
                ChildKind::Service { args, .. } => {
                    args.iter_mut().for_each(|arg| rewrite.visit_expr_mut(arg));
                    (true, "")
                }
                ChildKind::Spec(expr) => {
                    rewrite.visit_expr_mut(expr);
                    (true, "")
                }
                ChildKind::Closure(expr) => {
                    rewrite.visit_expr_mut(expr);
                    (false, "a closure child makes every attempt anew")
                }
                ChildKind::Pool {
                    template: PoolTemplate::Closure(expr),
                    ..
                } => {
                    rewrite.visit_expr_mut(expr);
                    (false, "a pool makes its children at run time")
                }
                ChildKind::Pool { .. } => (true, ""),
                ChildKind::Nested(_) => (true, ""),
            };
            let found = std::mem::take(&mut rewrite.found);
            // A misspelt name meant the close one: it is not reported unused on top.
            for (meant, use_) in std::mem::take(&mut rewrite.meant) {
                match use_ {
                    Use::Inbox => consumers
                        .entry(meant)
                        .or_default()
                        .push((child_path.clone(), Span::call_site())),
                    Use::Sender | Use::External => {
                        produced.insert(meant);
                    }
                }
            }
            for (name, use_, span) in found {
                let key = name.to_string();
                match use_ {
                    Use::Inbox if !consumes_allowed => {
                        errors.push(syn::Error::new(
                            span,
                            format!("`{key}.inbox()` cannot go here: {what}, and a mailbox's one consumer is made once; pass it to a `#[service]` fn that takes `&mut Inbox<T>` (`order_router({key}.inbox())`)"),
                        ));
                        // Meant as its consumer: not reported as having none.
                        consumers
                            .entry(key)
                            .or_default()
                            .push((child_path.clone(), span));
                    }
                    Use::Inbox => {
                        consumers
                            .entry(key)
                            .or_default()
                            .push((child_path.clone(), span));
                        child.mailboxes.consumes.push((name, span));
                    }
                    Use::Sender => {
                        produced.insert(key);
                        child.mailboxes.sends.push((name, span));
                    }
                    Use::External => {
                        produced.insert(key);
                    }
                }
            }
            if let ChildKind::Nested(nested) = &mut child.kind {
                pending.push((nested, child_path));
            }
        }
    }
    for mailbox in &declared {
        if let Some(sink) = &mailbox.dead_letters {
            // A misspelt sink meant the close one (reported already).
            let meant = suggest::closest(&sink.to_string(), names.iter().map(String::as_str))
                .map_or_else(|| sink.to_string(), str::to_owned);
            produced.insert(meant);
        }
    }
    for mailbox in &declared {
        let key = mailbox.name.to_string();
        match consumers.get(&key).map(Vec::as_slice).unwrap_or_default() {
            [] => errors.push_at(&mailbox.name, format!("mailbox `{key}` has no consumer: pass `{key}.inbox()` to exactly one child, a `#[service]` fn that takes `&mut Inbox<T>`")),
            [_] => {}
            [(first, _), rest @ ..] => {
                for (second, span) in rest {
                    errors.push(syn::Error::new(*span, format!("mailbox `{key}` is consumed twice, by `{first}` and `{second}`: a mailbox has one consumer")));
                }
            }
        }
        if !produced.contains(&key) {
            errors.push_at(&mailbox.name, format!("mailbox `{key}` has no producer in this tree: pass `{key}.sender()` to the children that send into it, or `{key}.external()` where code outside the tree does"));
        }
    }
    Mailboxes {
        declared: made_in_order(declared, errors),
    }
}

#[derive(Clone, Copy)]
enum Use {
    Inbox,
    Sender,
    External,
}

/// Rewrites `name.inbox()`, `.sender()` and `.external()` of declared mailboxes, and
/// reports a name close to a declared one.
struct Rewrite<'a> {
    names: &'a [String],
    found: Vec<(Ident, Use, Span)>,
    /// The declared names that misspelt ones meant.
    meant: Vec<(String, Use)>,
    errors: &'a mut Errors,
}

impl VisitMut for Rewrite<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        let Expr::MethodCall(call) = expr else {
            return;
        };
        let use_ = match call.method.to_string().as_str() {
            "inbox" => Use::Inbox,
            "sender" => Use::Sender,
            "external" => Use::External,
            _ => return,
        };
        let Expr::Path(receiver) = &*call.receiver else {
            return;
        };
        let Some(name) = receiver.path.get_ident().cloned() else {
            return;
        };
        if !call.args.is_empty() || call.turbofish.is_some() || !receiver.attrs.is_empty() {
            return;
        }
        let key = name.to_string();
        let span = syn::spanned::Spanned::span(&*call);
        if !self.names.contains(&key) {
            // Other types have these methods too: only a near miss is taken for a typo.
            let valid: Vec<&str> = self.names.iter().map(String::as_str).collect();
            if let Some(close) = suggest::closest(&key, valid.iter().copied()) {
                self.meant.push((close.to_owned(), use_));
                let message = suggest::unknown("mailbox", &key, "mailboxes of this tree", &valid);
                self.errors.push_at(&name, message);
            }
            return;
        }
        *expr = match use_ {
            Use::Inbox => {
                let consumer = consumer(&name, span);
                Expr::Verbatim(quote!(#consumer))
            }
            Use::Sender | Use::External => {
                let handle = handle(&name, span);
                Expr::Verbatim(quote_spanned!(span=> #handle.sender()))
            }
        };
        self.found.push((name, use_, span));
    }
}

/// Every declaration of the root, checked; those of nested supervisors are errors.
fn declarations(tree: &Tree, errors: &mut Errors) -> Vec<Mailbox> {
    let mut declared: Vec<Mailbox> = Vec::new();
    for item in &tree.header.items {
        let HeaderItem::Mailbox(decl) = item else {
            continue;
        };
        if declared.iter().any(|m| m.name == decl.name) {
            errors.push_at(
                &decl.name,
                format!(
                    "duplicate mailbox `{}`: give each mailbox one declaration",
                    decl.name
                ),
            );
            continue;
        }
        if let Some(mailbox) = check(decl, errors) {
            declared.push(mailbox);
        }
    }
    let names: Vec<String> = declared.iter().map(|m| m.name.to_string()).collect();
    for mailbox in &declared {
        if let Some(sink) = &mailbox.dead_letters {
            if *sink == mailbox.name {
                errors.push_at(sink, "a mailbox cannot be its own dead-letter mailbox: declare another, `mailbox poison: DeadLetter<Order>(capacity = 64)`");
            } else if !names.contains(&sink.to_string()) {
                let valid: Vec<&str> = names.iter().map(String::as_str).collect();
                errors.push_at(
                    sink,
                    suggest::unknown(
                        "mailbox",
                        &sink.to_string(),
                        "mailboxes of this tree",
                        &valid,
                    ),
                );
            }
        }
    }
    let mut nested = Vec::new();
    collect_nested(tree, &mut nested);
    for decl in nested {
        errors.push_at(&decl.keyword, format!("mailbox `{}` is declared in a nested supervisor: declare mailboxes at the top of the tree, where every child can reach them", decl.name));
    }
    declared
}

fn collect_nested<'a>(tree: &'a Tree, found: &mut Vec<&'a MailboxDecl>) {
    for child in &tree.children {
        if let ChildKind::Nested(nested) = &child.kind {
            found.extend(nested.header.items.iter().filter_map(|item| match item {
                HeaderItem::Mailbox(decl) => Some(decl),
                _ => None,
            }));
            collect_nested(nested, found);
        }
    }
}

fn check(decl: &MailboxDecl, errors: &mut Errors) -> Option<Mailbox> {
    let mut capacity = None;
    let mut delivery = None;
    let mut max_deliveries = None;
    let mut dead_letters = None;
    let mut drain_on_shutdown = None;
    let mut seen: Vec<String> = Vec::new();
    let mut valid = true;
    for (key, value) in &decl.options {
        let name = key.to_string();
        if seen.contains(&name) {
            errors.push_at(
                key,
                format!("duplicate option `{name}`: give each option once"),
            );
            valid = false;
            continue;
        }
        seen.push(name.clone());
        match name.as_str() {
            "capacity" => match int(value) {
                Some((n, _)) if (1..=MAX_CAPACITY).contains(&n) => capacity = Some(n),
                Some((_, lit)) => {
                    errors.push_at(lit, "a mailbox's `capacity` is from 1 to `supervisor::mailbox::MAX_CAPACITY`: it holds that many messages before senders wait");
                    valid = false;
                }
                None => {
                    errors.push_at(value, "`capacity` is a whole number, `capacity = 1024`");
                    valid = false;
                }
            },
            "delivery" => match string_literal(value) {
                Some(lit) if DELIVERIES.contains(&lit.value().as_str()) => {
                    delivery = Some((lit.value() == "at_least_once", lit.span()));
                }
                Some(lit) => {
                    errors.push_at(
                        lit,
                        suggest::unknown("delivery", &lit.value(), "values", DELIVERIES),
                    );
                    valid = false;
                }
                None => {
                    errors.push_at(value, "`delivery` takes a string literal: `delivery = \"at_least_once\"`; valid values: at_most_once, at_least_once");
                    valid = false;
                }
            },
            "max_deliveries" => match int(value) {
                Some((n, lit)) if n >= 1 && n <= u64::from(u32::MAX) => {
                    max_deliveries = Some((n as u32, lit.span()));
                }
                Some((_, lit)) => {
                    errors.push_at(lit, "`max_deliveries` is from 1 to 4294967295: how many times a message is delivered before it becomes a dead letter");
                    valid = false;
                }
                None => {
                    errors.push_at(
                        value,
                        "`max_deliveries` is a whole number, `max_deliveries = 3`",
                    );
                    valid = false;
                }
            },
            "dead_letters" => match value {
                Expr::Path(path) if path.path.get_ident().is_some() => {
                    dead_letters = path.path.get_ident().cloned();
                }
                _ => {
                    errors.push_at(value, "`dead_letters` names another mailbox of the tree, `dead_letters = poison`, declared `mailbox poison: DeadLetter<Order>(capacity = 64)`");
                    valid = false;
                }
            },
            "drain_on_shutdown" => match value {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Bool(flag),
                    ..
                }) => drain_on_shutdown = Some(flag.value),
                _ => {
                    errors.push_at(value, "`drain_on_shutdown` is `true` or `false`");
                    valid = false;
                }
            },
            _ => {
                errors.push_at(
                    key,
                    suggest::unknown("mailbox option", &name, "mailbox options", OPTIONS),
                );
                valid = false;
            }
        }
    }
    let at_least_once = delivery.is_some_and(|(at_least, _)| at_least);
    if let (false, Some((_, span))) = (at_least_once, max_deliveries) {
        errors.push(syn::Error::new(span, "`max_deliveries` counts the deliveries of an unacknowledged message: it needs `delivery = \"at_least_once\"`"));
        valid = false;
    }
    let Some(capacity) = capacity else {
        if !seen.iter().any(|s| s == "capacity") {
            errors.push_at(&decl.name, format!("mailbox `{}` needs a capacity, the messages it holds before senders wait: `mailbox {}: ..(capacity = 1024)`", decl.name, decl.name));
        }
        return None;
    };
    let max_deliveries =
        at_least_once.then(|| max_deliveries.unwrap_or((DEFAULT_MAX_DELIVERIES, decl.name.span())));
    valid.then(|| Mailbox {
        name: decl.name.clone(),
        ty: decl.ty.clone(),
        capacity,
        max_deliveries,
        drain_on_shutdown,
        dead_letters,
    })
}

fn int(value: &Expr) -> Option<(u64, &syn::LitInt)> {
    match value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(lit),
            ..
        }) => Some((lit.base10_parse::<u64>().unwrap_or(u64::MAX), lit)),
        _ => None,
    }
}

/// Dead-letter mailboxes first (they are handed to the builders of those that use them); a
/// cycle of dead-letter mailboxes is an error.
fn made_in_order(mut declared: Vec<Mailbox>, errors: &mut Errors) -> Vec<Mailbox> {
    let mut ordered: Vec<Mailbox> = Vec::with_capacity(declared.len());
    while !declared.is_empty() {
        let ready = declared.iter().position(|m| {
            m.dead_letters.as_ref().is_none_or(|sink| {
                ordered.iter().any(|o| o.name == *sink) || !declared.iter().any(|d| d.name == *sink)
            })
        });
        match ready {
            Some(i) => ordered.push(declared.remove(i)),
            None => {
                for mailbox in &declared {
                    if let Some(sink) = &mailbox.dead_letters {
                        errors.push_at(sink, "dead-letter mailboxes send into each other in a cycle: a dead-letter mailbox's own dead letters have nowhere to go");
                    }
                }
                break;
            }
        }
    }
    ordered
}

/// The statements that make every mailbox, each `?`-like: a failure leaves the labeled block
/// `exit` with the error.
pub(crate) fn make(mailboxes: &Mailboxes, p: &TokenStream, exit: &syn::Lifetime) -> TokenStream {
    mailboxes
        .declared
        .iter()
        .map(|mailbox| {
            let Mailbox {
                name,
                ty,
                capacity,
                max_deliveries,
                drain_on_shutdown,
                dead_letters,
            } = mailbox;
            let label = name.to_string();
            let capacity = *capacity as usize;
            let mut chain = quote!(#p::Mailbox::<#ty>::builder(#label, #capacity));
            if let Some((max, _)) = max_deliveries {
                chain.extend(quote!(.at_least_once(#max)));
            }
            if let Some(sink) = dead_letters {
                let sink = handle(sink, Span::call_site());
                chain.extend(quote!(.dead_letters(#sink.sender())));
            }
            if let Some(drain) = drain_on_shutdown {
                chain.extend(quote!(.drain_on_shutdown(#drain)));
            }
            let handle = handle(name, Span::call_site());
            let consumer = consumer(name, Span::call_site());
            quote! {
                let (#handle, #consumer) = match #chain.build() {
                    ::core::result::Result::Ok(made) => made,
                    ::core::result::Result::Err(error) => {
                        break #exit ::core::result::Result::Err(error)
                    }
                };
            }
        })
        .collect()
}
