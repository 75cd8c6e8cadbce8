//! Checks a parsed tree: header values, overrides, names, dependencies (unknown, crossing
//! supervisors, cycles). Every problem is collected; the result feeds the expansion.

use std::collections::HashMap;

use syn::{Ident, LitStr};

use super::graph;
use super::parse::{Child, ChildKind, HEADER_KEYS, HeaderItem, OVERRIDE_KEYS, Tree};
use crate::common::errors::Errors;
use crate::common::{duration, suggest};

const STRATEGIES: &[&str] = &["one_for_one", "one_for_all", "rest_for_one"];
const AUTO_SHUTDOWNS: &[&str] = &["never", "any_significant", "all_significant"];
const RESTARTS: &[&str] = &[
    "always",
    "on_failure",
    "never",
    "permanent",
    "transient",
    "temporary",
];

/// A supervisor's checked settings (plain data) and children.
pub(crate) struct Node<'a> {
    pub(crate) name: String,
    pub(crate) strategy: Option<&'static str>,
    pub(crate) intensity: Option<(u32, u64)>,
    pub(crate) shutdown_timeout_ns: Option<u64>,
    pub(crate) auto_shutdown: Option<&'static str>,
    /// The runtime's path, if not `::supervisor` (root only).
    pub(crate) krate: Option<String>,
    pub(crate) children: Vec<Resolved<'a>>,
    pub(crate) startup_order: Vec<usize>,
}

pub(crate) struct Resolved<'a> {
    pub(crate) child: &'a Child,
    pub(crate) overrides: Overrides,
    /// Indices of the siblings it starts after (`after` and `requires`).
    pub(crate) dependencies: Vec<usize>,
    /// The subset it `requires`.
    pub(crate) requirements: Vec<usize>,
    pub(crate) nested: Option<Node<'a>>,
}

#[derive(Default)]
pub(crate) struct Overrides {
    pub(crate) restart: Option<&'static str>,
    pub(crate) shutdown: Option<Shutdown>,
    pub(crate) startup_timeout_ns: Option<u64>,
    pub(crate) significant: bool,
}

pub(crate) enum Shutdown {
    Timeout(u64),
    BrutalKill,
    Infinity,
}

/// Where every child key of the tree lives, to tell a crossing dependency from a typo.
type Directory = HashMap<String, Vec<String>>;

pub(crate) fn resolve<'a>(tree: &'a Tree, errors: &mut Errors) -> Node<'a> {
    let mut directory = Directory::new();
    collect(tree, &root_name(tree), &mut directory);
    resolve_node(tree, root_name(tree), &directory, errors)
}

fn root_name(tree: &Tree) -> String {
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

fn resolve_node<'a>(
    tree: &'a Tree,
    path: String,
    directory: &Directory,
    errors: &mut Errors,
) -> Node<'a> {
    let mut node = Node {
        name: path.rsplit('/').next().unwrap_or_default().to_owned(),
        strategy: None,
        intensity: None,
        shutdown_timeout_ns: None,
        auto_shutdown: None,
        krate: None,
        children: Vec::new(),
        startup_order: Vec::new(),
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
                directory,
                errors,
            )),
            _ => None,
        };
        node.children.push(Resolved {
            child,
            overrides: overrides(child, errors),
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
                        Ok(0) | Err(_) => {
                            errors.push_at(
                                lit,
                                "`max_restarts` must be a whole number of at least 1",
                            );
                            None
                        }
                        Ok(n) => Some(n),
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
            HeaderItem::Unknown(_) | HeaderItem::Late(_) => {}
        }
    }
}

fn string_literal(value: &syn::Expr) -> Option<&LitStr> {
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

fn nanos(lit: &LitStr, errors: &mut Errors) -> Option<u64> {
    duration::parse(&lit.value())
        .map_err(|message| errors.push_at(lit, message))
        .ok()
}

fn overrides(child: &Child, errors: &mut Errors) -> Overrides {
    let mut result = Overrides::default();
    let mut seen: Vec<String> = Vec::new();
    let mut explicit = false;
    let mut startup_timeout: Option<&LitStr> = None;
    for (key, value) in &child.overrides {
        let name = key.to_string();
        if !OVERRIDE_KEYS.contains(&name.as_str()) {
            errors.push_at(
                key,
                suggest::unknown("override", &name, "overrides", OVERRIDE_KEYS),
            );
            continue;
        }
        if seen.contains(&name) {
            errors.push_at(key, format!("duplicate override `{name}`: give each once"));
            continue;
        }
        seen.push(name.clone());
        if name == "significant" {
            match value {
                Some(lit) => errors.push_at(
                    lit,
                    "`significant` is a flag and takes no value: write just `significant`",
                ),
                None => result.significant = true,
            }
            continue;
        }
        let Some(lit) = value else {
            errors.push_at(
                key,
                format!("`{name}` needs a value, e.g. `{name} = \"..\"`"),
            );
            continue;
        };
        let text = lit.value();
        match name.as_str() {
            "restart" => {
                result.restart = match text.as_str() {
                    "always" | "permanent" => Some("Always"),
                    "on_failure" | "transient" => Some("OnFailure"),
                    "never" | "temporary" => Some("Never"),
                    other => {
                        errors.push_at(
                            lit,
                            suggest::unknown("restart policy", other, "values", RESTARTS),
                        );
                        None
                    }
                }
            }
            "shutdown" => {
                result.shutdown = match text.as_str() {
                    "brutal_kill" => Some(Shutdown::BrutalKill),
                    "infinity" => Some(Shutdown::Infinity),
                    _ => match duration::parse(&text) {
                        Ok(ns) => Some(Shutdown::Timeout(ns)),
                        Err(_) => {
                            errors.push_at(lit, format!("unknown shutdown `{text}`; valid values: brutal_kill, infinity, or a duration such as \"5s\""));
                            None
                        }
                    },
                }
            }
            "readiness" => match text.as_str() {
                "explicit" => explicit = true,
                "immediate" => {}
                other => errors.push_at(
                    lit,
                    suggest::unknown("readiness", other, "values", &["immediate", "explicit"]),
                ),
            },
            _ => startup_timeout = Some(lit),
        }
    }
    result.startup_timeout_ns = match (startup_timeout, explicit) {
        (Some(lit), true) => nanos(lit, errors),
        (Some(lit), false) => {
            errors.push_at(
                lit,
                "`startup_timeout` applies only with `readiness = \"explicit\"`",
            );
            None
        }
        (None, true) => Some(30_000_000_000),
        (None, false) => None,
    };
    if result.significant && result.restart == Some("Always") {
        let at = child
            .overrides
            .iter()
            .find(|(k, _)| k == "significant")
            .map(|(k, _)| k.clone());
        if let Some(at) = at {
            errors.push_at(&at, "a significant child must not be restarted always: it would never terminate normally");
        }
    }
    result
}
