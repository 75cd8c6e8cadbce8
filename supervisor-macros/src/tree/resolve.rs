//! Checks a parsed tree: header values, overrides, names, dependencies (unknown, crossing
//! supervisors, cycles). Every problem is collected; the result feeds the expansion.

use std::collections::HashMap;

use syn::{Ident, LitStr};

use super::graph;
use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::spanned::Spanned;

use super::drain;
use super::mailbox::Mailboxes;
use super::parse::{Child, ChildKind, HEADER_KEYS, HeaderItem, Tree};
use crate::common::errors::Errors;
use crate::common::suggest;
use crate::policy::model::Restart;
use crate::policy::parse::{
    POLICY_OPTIONS, PolicyOptions, key_of, parse_policy_option, skip_value,
};
use crate::policy::{self, Context, MAX_FAILURE_COUNT, PolicyModel, nanos};

const STRATEGIES: &[&str] = &["one_for_one", "one_for_all", "rest_for_one"];
const AUTO_SHUTDOWNS: &[&str] = &["never", "any_significant", "all_significant"];

/// A supervisor's checked settings (plain data) and children.
pub(crate) struct Node<'a> {
    pub(crate) name: String,
    pub(crate) strategy: Option<&'static str>,
    pub(crate) intensity: Option<(u32, u64)>,
    pub(crate) shutdown_timeout_ns: Option<u64>,
    pub(crate) auto_shutdown: Option<&'static str>,
    pub(crate) max_dynamic_children: Option<u64>,
    /// The runtime's path, if not `::supervisor` (root only).
    pub(crate) krate: Option<String>,
    pub(crate) children: Vec<Resolved<'a>>,
    pub(crate) startup_order: Vec<usize>,
    /// The shutdown's order when mailboxes order it (a consumer after its producers);
    /// otherwise empty, and the reverse of `startup_order`.
    pub(crate) stop_order: Vec<usize>,
}

pub(crate) struct Resolved<'a> {
    pub(crate) child: &'a Child,
    /// Its `with(..)` options, in `#[service]`'s grammar.
    pub(crate) overrides: PolicyModel,
    /// Checks against what a `#[service]` child declares, as `const` items: they need the
    /// attribute's constants, which only the compiler sees.
    pub(crate) checks: Vec<TokenStream>,
    /// Indices of the siblings it starts after (`after` and `requires`).
    pub(crate) dependencies: Vec<usize>,
    /// The subset it `requires`.
    pub(crate) requirements: Vec<usize>,
    pub(crate) nested: Option<Node<'a>>,
}

/// Where every child key of the tree lives, to tell a crossing dependency from a typo.
type Directory = HashMap<String, Vec<String>>;

pub(crate) fn resolve<'a>(tree: &'a Tree, mailboxes: &Mailboxes, errors: &mut Errors) -> Node<'a> {
    let mut directory = Directory::new();
    collect(tree, &root_name(tree), &mut directory);
    let scope = Scope {
        directory: &directory,
        mailboxes,
    };
    resolve_node(tree, root_name(tree), &scope, errors)
}

/// What every level is checked against.
struct Scope<'a> {
    directory: &'a Directory,
    mailboxes: &'a Mailboxes,
}

pub(crate) fn root_name(tree: &Tree) -> String {
    tree.header
        .items
        .iter()
        .find_map(|item| match item {
            HeaderItem::Value(key, value) if key == "name" => {
                string_literal(value).map(|l| l.value())
            }
            _ => None,
        })
        .unwrap_or_else(|| "supervisor".to_owned())
}

fn collect(tree: &Tree, path: &str, directory: &mut Directory) {
    for child in &tree.children {
        directory
            .entry(child.key.to_string())
            .or_default()
            .push(path.to_owned());
        if let ChildKind::Nested(nested) = &child.kind {
            collect(nested, &format!("{path}/{}", child.key), directory);
        }
    }
}

fn resolve_node<'a>(tree: &'a Tree, path: String, scope: &Scope, errors: &mut Errors) -> Node<'a> {
    let directory = scope.directory;
    let mut node = Node {
        name: path.rsplit('/').next().unwrap_or_default().to_owned(),
        strategy: None,
        intensity: None,
        shutdown_timeout_ns: None,
        auto_shutdown: None,
        max_dynamic_children: None,
        krate: None,
        children: Vec::new(),
        startup_order: Vec::new(),
        stop_order: Vec::new(),
    };
    header(tree, &mut node, !path.contains('/'), errors);
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, child) in tree.children.iter().enumerate() {
        let key = child.key.to_string();
        if index.insert(key.clone(), i).is_some() {
            errors.push_at(&child.key, format!("duplicate child `{key}` in `{path}`: sibling names must be unique; name one of them `other_name: {key}(..)`"));
        }
    }
    let siblings: Vec<String> = tree.children.iter().map(|c| c.key.to_string()).collect();
    for child in &tree.children {
        let mut dependencies = Vec::new();
        let mut requirements = Vec::new();
        let edges = child
            .after
            .iter()
            .map(|dep| (dep, "after"))
            .chain(child.requires.iter().map(|dep| (dep, "requires")));
        for (dep, kind) in edges {
            let name = dep.to_string();
            match index.get(&name) {
                Some(&i) if !dependencies.contains(&i) => {
                    dependencies.push(i);
                    if kind == "requires" {
                        requirements.push(i);
                    }
                }
                Some(_) if kind == "requires" && child.after.iter().any(|a| *a == name) => {
                    errors.push_at(dep, format!("`{name}` is in both `after(..)` and `requires(..)`: `requires` already starts after it, so list it there only"));
                }
                Some(_) => errors.push_at(dep, format!("`{name}` is listed twice in `{kind}(..)`")),
                None => errors.push_at(dep, unknown_dependency(&name, &path, &siblings, directory)),
            }
        }
        let nested = match &child.kind {
            ChildKind::Nested(nested) => Some(resolve_node(
                nested,
                format!("{path}/{}", child.key),
                scope,
                errors,
            )),
            _ => None,
        };
        if let ChildKind::Pool { max, unknown, .. } = &child.kind {
            check_pool(&child.key, max.as_ref(), unknown, errors);
        }
        let (overrides, mut checks) = overrides(child, node.auto_shutdown, errors);
        check_poison_below_breaker(child, &overrides, scope.mailboxes, &mut checks, errors);
        node.children.push(Resolved {
            child,
            overrides,
            checks,
            dependencies,
            requirements,
            nested,
        });
    }
    let dependencies: Vec<Vec<usize>> = node
        .children
        .iter()
        .map(|c| c.dependencies.clone())
        .collect();
    if !scope.mailboxes.declared.is_empty() {
        let drains = drain::Drains::of(tree, scope.mailboxes);
        node.stop_order = drains.check(tree, &path, &dependencies, errors);
    }
    match graph::startup_order(&dependencies) {
        Ok(order) => node.startup_order = order,
        Err(cycle) => {
            let names: Vec<String> = cycle.iter().map(|&i| siblings[i].clone()).collect();
            let message = format!("dependency cycle in `{path}`: {}", names.join(" -> "));
            // One error per edge, each on the `after(..)` or `requires(..)` entry that makes it.
            for pair in cycle.windows(2) {
                let (from, to) = (pair[0], pair[1]);
                let child = &tree.children[from];
                if let Some(dep) = child
                    .after
                    .iter()
                    .chain(&child.requires)
                    .find(|d| **d == siblings[to])
                {
                    errors.push_at(dep, &message);
                }
            }
        }
    }
    node
}

fn unknown_dependency(
    name: &str,
    path: &str,
    siblings: &[String],
    directory: &Directory,
) -> String {
    if let Some(elsewhere) = directory
        .get(name)
        .and_then(|paths| paths.iter().find(|p| *p != path))
    {
        return format!(
            "`{name}` is a child of `{elsewhere}`, not a sibling in `{path}`: dependencies cannot cross supervisors (depend on the supervisor that holds it instead)"
        );
    }
    let valid: Vec<&str> = siblings.iter().map(String::as_str).collect();
    suggest::unknown("child", name, &format!("children of `{path}`"), &valid)
}

fn header(tree: &Tree, node: &mut Node, root: bool, errors: &mut Errors) {
    let mut seen: Vec<String> = Vec::new();
    for item in &tree.header.items {
        let (key, span) = match item {
            HeaderItem::Value(k, _) | HeaderItem::Intensity(k, _, _) => (k.to_string(), k.span()),
            HeaderItem::Crate(token, _) => ("crate".to_owned(), token.span),
            HeaderItem::Unknown(k) => {
                let name = k.to_string();
                let message = suggest::unknown("supervisor option", &name, "options", HEADER_KEYS);
                errors.push_at(k, message);
                continue;
            }
            // Checked with the tree's mailboxes.
            HeaderItem::Mailbox(_) => continue,
            HeaderItem::Late(k) => {
                errors.push_at(
                    k,
                    format!(
                        "`{k}` is an option of the supervisor: options come before its first child"
                    ),
                );
                continue;
            }
        };
        if seen.contains(&key) {
            errors.push(syn::Error::new(
                span,
                format!("duplicate option `{key}`: give each option once"),
            ));
            continue;
        }
        seen.push(key);
        match item {
            HeaderItem::Crate(_, lit) => {
                let value = lit.value();
                if !root || !value.starts_with("::") || syn::parse_str::<syn::Path>(&value).is_err()
                {
                    let message = if root {
                        "`crate` must be an absolute path to the supervisor crate, starting with `::`, e.g. `crate = \"::my_app::supervisor\"`"
                    } else {
                        "`crate` is an option of the root supervisor only"
                    };
                    errors.push_at(lit, message);
                } else {
                    node.krate = Some(value);
                }
            }
            HeaderItem::Value(key, value) => match key.to_string().as_str() {
                "name" => match string_literal(value) {
                    Some(lit) if lit.value().is_empty() => {
                        errors.push_at(lit, "a supervisor name must not be empty");
                    }
                    Some(lit) => node.name = lit.value(),
                    None => errors.push_at(value, "`name` must be a string literal, `name = \"bot\"`: the tree's paths are checked at compile time (for a name known only at run time, build the spec with `SupervisorSpec::builder`)"),
                },
                "strategy" => {
                    node.strategy = enumerated(key, value, STRATEGIES, "strategy", errors);
                }
                "auto_shutdown" => {
                    node.auto_shutdown =
                        enumerated(key, value, AUTO_SHUTDOWNS, "auto_shutdown", errors);
                }
                "max_dynamic_children" => match value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Int(lit),
                        ..
                    }) => match lit.base10_parse::<u64>() {
                        Ok(n) if n <= 1_000_000 => node.max_dynamic_children = Some(n),
                        _ => errors.push_at(lit, "`max_dynamic_children` is from 0 to 1,000,000 (`MAX_DYNAMIC_CHILDREN`)"),
                    },
                    _ => errors.push_at(value, "`max_dynamic_children` is a whole number, `max_dynamic_children = 16`: how many children `add_child` may add at once"),
                },
                _ => match string_literal(value) {
                    Some(lit) => node.shutdown_timeout_ns = nanos(lit, errors),
                    None => errors.push_at(value, format!("`{key}` is a duration, a string literal with a unit: `{key} = \"5s\"`")),
                },
            },
            HeaderItem::Intensity(key, max, within) => {
                let max_restarts = match max {
                    None => {
                        errors.push_at(key, "`intensity(..)` needs `max_restarts = N`");
                        None
                    }
                    Some(lit) => match lit.base10_parse::<u32>() {
                        Ok(n) if (1..=MAX_FAILURE_COUNT).contains(&n) => Some(n),
                        _ => {
                            errors.push_at(
                                lit,
                                format!("`max_restarts` must be a whole number from 1 to {MAX_FAILURE_COUNT}"),
                            );
                            None
                        }
                    },
                };
                let within_ns = match within {
                    None => {
                        errors.push_at(key, "`intensity(..)` needs `within = \"60s\"`");
                        None
                    }
                    Some(lit) => nanos(lit, errors),
                };
                if let (Some(max), Some(within)) = (max_restarts, within_ns) {
                    node.intensity = Some((max, within));
                }
            }
            HeaderItem::Unknown(_) | HeaderItem::Late(_) | HeaderItem::Mailbox(_) => {}
        }
    }
}

pub(crate) fn string_literal(value: &syn::Expr) -> Option<&LitStr> {
    match value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => Some(lit),
        _ => None,
    }
}

/// An enumerated value, written as a string literal; a bare identifier gets one error that
/// shows the quoted form.
fn enumerated(
    key: &Ident,
    value: &syn::Expr,
    valid: &[&'static str],
    what: &str,
    errors: &mut Errors,
) -> Option<&'static str> {
    if let Some(lit) = string_literal(value) {
        return pick(&lit.value(), lit, valid, what, errors);
    }
    let bare = match value {
        syn::Expr::Path(path) => path.path.get_ident().map(ToString::to_string),
        _ => None,
    };
    let shown = bare
        .as_deref()
        .and_then(|given| {
            valid
                .iter()
                .copied()
                .find(|v| *v == given)
                .or_else(|| suggest::closest(given, valid.iter().copied()))
        })
        .unwrap_or(valid[0]);
    errors.push_at(
        value,
        format!(
            "`{key}` takes a string literal: `{key} = \"{shown}\"`; valid values: {}",
            valid.join(", ")
        ),
    );
    None
}

fn pick(
    given: &str,
    at: &LitStr,
    valid: &[&'static str],
    what: &str,
    errors: &mut Errors,
) -> Option<&'static str> {
    let found = valid.iter().copied().find(|v| *v == given);
    if found.is_none() {
        errors.push_at(at, suggest::unknown(what, given, "values", valid));
    }
    found
}

/// A child's `with(..)` options, checked with `#[service]`'s grammar, and the checks that need
/// the child's own declaration: a `startup_timeout` alone needs explicit readiness, a
/// significant child must not be restarted always, and significant children need an
/// `auto_shutdown` other than `never` (as in OTP).
fn overrides(
    child: &Child,
    auto_shutdown: Option<&'static str>,
    errors: &mut Errors,
) -> (PolicyModel, Vec<TokenStream>) {
    let mut options = PolicyOptions::default();
    for content in &child.overrides {
        let parser = syn::meta::parser(|meta| {
            let key = key_of(&meta);
            if !parse_policy_option(&key, &meta, &mut options, errors) {
                let mut message =
                    suggest::unknown("option", &key, "options of `with(..)`", POLICY_OPTIONS);
                if ["name", "blocking", "crate"].contains(&key.as_str()) {
                    message.push_str(&format!(" (`{key}` belongs to `#[service]` only)"));
                }
                errors.push_at(&meta.path, message);
                skip_value(&meta);
            }
            Ok(())
        });
        if let Err(error) = parser.parse2(content.clone()) {
            errors.push(error);
        }
    }
    let model = policy::validate(&options, Context::Override, errors);
    let mut checks = Vec::new();
    let service = match &child.kind {
        ChildKind::Service { path, .. } => Some(path),
        _ => None,
    };
    let what = match &child.kind {
        ChildKind::Service { .. } => "",
        ChildKind::Closure(_) => "a closure child",
        ChildKind::Spec(_) => "a `key = expr` child",
        ChildKind::Nested(_) => "a supervisor child",
        ChildKind::Pool { .. } => "a pool",
    };
    if let (None, Some(lit)) = (&options.readiness, &options.startup_timeout) {
        match service {
            Some(path) => checks.push(const_check(
                lit.span(),
                quote!(#path::EXPLICIT_READINESS),
                "`startup_timeout` overrides the startup timeout of explicit readiness, and this service declares `readiness = \"immediate\"`: add `readiness = \"explicit\"` to the override or to its `#[service]`",
            )),
            None => errors.push_at(lit, format!("{what} has immediate readiness unless told otherwise: write `readiness = \"explicit\"` beside `startup_timeout`")),
        }
    }
    let significant_key = options.significant.as_ref();
    let restart_always = model.restart == Some(Restart::Always);
    if let Some(key) = significant_key
        && model.restart.is_none()
    {
        match (service, &child.kind) {
            (Some(path), _) => checks.push(const_check(
                key.span(),
                quote!(!#path::RESTARTS_ALWAYS),
                "this service is `restart = \"always\"`, so it can never be significant (it never terminates normally): override `restart = \"on_failure\"` or `\"never\"` too",
            )),
            (None, ChildKind::Nested(_) | ChildKind::Pool { .. }) => errors.push_at(key, "a supervisor child is restarted always unless told otherwise, so it can never be significant: add `restart = \"on_failure\"` or `\"never\"`"),
            _ => {}
        }
    }
    if restart_always
        && significant_key.is_none()
        && let (Some(path), Some(lit)) = (service, &options.restart)
    {
        checks.push(const_check(
            lit.span(),
            quote!(!#path::SIGNIFICANT),
            "this service is `significant`, and a significant service must not be restarted always (it would never terminate normally)",
        ));
    }
    if auto_shutdown.is_none_or(|a| a == "never") {
        match (significant_key, service) {
            (Some(key), _) => errors.push_at(key, "a significant child needs its supervisor's `auto_shutdown = \"any_significant\"` or `\"all_significant\"`: under `\"never\"` it could never end it (OTP rejects the combination too)"),
            (None, Some(path)) => checks.push(const_check(
                path_span(path),
                quote!(!#path::SIGNIFICANT),
                "this service is `significant`, and its supervisor has `auto_shutdown = \"never\"`: set `auto_shutdown = \"any_significant\"` or `\"all_significant\"` on the supervisor (OTP rejects the combination too)",
            )),
            _ => {}
        }
    }
    (model, checks)
}

/// An at-least-once mailbox's `max_deliveries` must stay below its consumer's circuit
/// breaker limit: each delivery of a poison message is a failure, and the breaker would end
/// the consumer before the message is dead-lettered.
fn check_poison_below_breaker(
    child: &Child,
    overrides: &PolicyModel,
    mailboxes: &Mailboxes,
    checks: &mut Vec<TokenStream>,
    errors: &mut Errors,
) {
    let Some((name, _)) = child.mailboxes.consumes.first() else {
        return;
    };
    let Some((max, span)) = mailboxes
        .get(&name.to_string())
        .and_then(|m| m.max_deliveries)
    else {
        return;
    };
    let message = format!(
        "`max_deliveries = {max}` of mailbox `{name}` must be below its consumer `{}`'s circuit breaker `max_failures`: each delivery of a poison message is a failure, and the breaker would end the consumer before the message is dead-lettered; lower `max_deliveries` or raise the breaker's limit",
        child.key
    );
    if overrides.backoff.is_some() {
        let limit = overrides.breaker_max_failures();
        if max >= limit {
            errors.push(syn::Error::new(span, format!("{message} (it is {limit})")));
        }
    } else if let ChildKind::Service { path, .. } = &child.kind {
        checks.push(const_check(
            span,
            quote!(#max < #path::BREAKER_MAX_FAILURES),
            &message,
        ));
    }
}

/// A pool's options: `max`, the most children it holds at once (1 to 1,000,000).
fn check_pool(
    key: &syn::Ident,
    max: Option<&syn::Expr>,
    unknown: &[syn::Ident],
    errors: &mut Errors,
) {
    for option in unknown {
        errors.push_at(
            option,
            suggest::unknown("pool option", &option.to_string(), "pool options", &["max"]),
        );
    }
    match max {
        None if unknown.is_empty() => errors.push_at(
            key,
            "a pool needs `max`, the most children it holds at once: `pool workers(max = 8) = ..`",
        ),
        Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(lit),
            ..
        })) => match lit.base10_parse::<u64>() {
            Ok(1..=1_000_000) => {}
            _ => errors.push_at(
                lit,
                "a pool's `max` is from 1 to 1,000,000 (`MAX_DYNAMIC_CHILDREN`)",
            ),
        },
        _ => {}
    }
}

/// `const _: () = assert!(condition, message)`, spanned on the user's token.
fn const_check(span: proc_macro2::Span, condition: TokenStream, message: &str) -> TokenStream {
    quote::quote_spanned! {span=>
        const _: () = if !(#condition) { ::core::panic!(#message) };
    }
}

fn path_span(path: &syn::Path) -> proc_macro2::Span {
    path.segments
        .last()
        .map_or_else(proc_macro2::Span::call_site, |s| s.ident.span())
}
