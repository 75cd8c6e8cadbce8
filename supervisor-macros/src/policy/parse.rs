//! The policy options as written, with the spans of their tokens: one grammar for
//! `#[service(..)]` and for a child's `with(..)` in `supervisor!`.

use syn::meta::ParseNestedMeta;
use syn::{LitBool, LitInt, LitStr, Path, Token};

use crate::common::errors::Errors;
use crate::common::suggest;

/// Every policy option, in the order the docs list them.
pub(crate) const POLICY_OPTIONS: &[&str] = &[
    "restart",
    "backoff",
    "circuit_breaker",
    "shutdown",
    "readiness",
    "startup_timeout",
    "heartbeat",
    "significant",
    "tags",
];
const BACKOFF_OPTIONS: &[&str] = &["base", "max", "jitter", "reset_after"];
const BREAKER_OPTIONS: &[&str] = &["max_failures", "within", "on_open"];
const SHUTDOWN_OPTIONS: &[&str] = &["timeout"];
const HEARTBEAT_OPTIONS: &[&str] = &["stale_after"];

#[derive(Default)]
pub(crate) struct PolicyOptions {
    pub(crate) restart: Option<LitStr>,
    pub(crate) backoff: Option<(Path, Backoff)>,
    pub(crate) circuit_breaker: Option<(Path, Breaker)>,
    pub(crate) shutdown: Option<(Path, Shutdown)>,
    pub(crate) readiness: Option<LitStr>,
    pub(crate) startup_timeout: Option<LitStr>,
    pub(crate) heartbeat: Option<(Path, Option<LitStr>)>,
    pub(crate) significant: Option<Path>,
    pub(crate) tags: Option<(Path, Vec<LitStr>)>,
}

#[derive(Default)]
pub(crate) struct Backoff {
    pub(crate) base: Option<LitStr>,
    pub(crate) max: Option<LitStr>,
    pub(crate) jitter: Option<LitStr>,
    pub(crate) reset_after: Option<LitStr>,
}

pub(crate) enum Breaker {
    /// `circuit_breaker = false`
    Disabled,
    Limits {
        max_failures: Option<LitInt>,
        within: Option<LitStr>,
        on_open: Option<LitStr>,
    },
}

pub(crate) enum Shutdown {
    /// `shutdown = "brutal_kill"` or `"infinity"`
    Keyword(LitStr),
    /// `shutdown(timeout = "5s")`
    Timeout(Option<LitStr>),
}

pub(crate) fn key_of(meta: &ParseNestedMeta) -> String {
    let path = &meta.path;
    path.get_ident().map_or_else(
        || quote::quote!(#path).to_string().replace(' ', ""),
        ToString::to_string,
    )
}

/// Parses one policy option into `options`; `false` if `key` is no policy option (nothing
/// is consumed then).
pub(crate) fn parse_policy_option(
    key: &str,
    meta: &ParseNestedMeta,
    options: &mut PolicyOptions,
    errors: &mut Errors,
) -> bool {
    let path = meta.path.clone();
    let result = match key {
        "restart" => set(
            &mut options.restart,
            string(meta, "restart = \"on_failure\""),
            &path,
            errors,
        ),
        "readiness" => set(
            &mut options.readiness,
            string(meta, "readiness = \"explicit\""),
            &path,
            errors,
        ),
        "startup_timeout" => set(
            &mut options.startup_timeout,
            string(meta, "startup_timeout = \"10s\""),
            &path,
            errors,
        ),
        "significant" => set(
            &mut options.significant,
            flag(meta, "significant"),
            &path,
            errors,
        ),
        "backoff" => {
            let value = nested(
                meta,
                BACKOFF_OPTIONS,
                errors,
                |key, meta, backoff: &mut Backoff, errors| {
                    let slot = match key {
                        "base" => &mut backoff.base,
                        "max" => &mut backoff.max,
                        "jitter" => &mut backoff.jitter,
                        _ => &mut backoff.reset_after,
                    };
                    let example = format!(
                        "{key} = \"{}\"",
                        if key == "jitter" { "full" } else { "1s" }
                    );
                    set(slot, string(meta, &example), &meta.path, errors)
                },
            );
            set(
                &mut options.backoff,
                value.map(|v| (path.clone(), v)),
                &path,
                errors,
            )
        }
        "circuit_breaker" => {
            let value = if meta.input.peek(Token![=]) {
                breaker_disabled(meta)
            } else {
                nested(
                    meta,
                    BREAKER_OPTIONS,
                    errors,
                    |key,
                     meta,
                     limits: &mut (Option<LitInt>, Option<LitStr>, Option<LitStr>),
                     errors| {
                        if key == "max_failures" {
                            set(
                                &mut limits.0,
                                integer(meta, "max_failures = 5"),
                                &meta.path,
                                errors,
                            )
                        } else if key == "within" {
                            set(
                                &mut limits.1,
                                string(meta, "within = \"60s\""),
                                &meta.path,
                                errors,
                            )
                        } else {
                            set(
                                &mut limits.2,
                                string(meta, "on_open = \"escalate\""),
                                &meta.path,
                                errors,
                            )
                        }
                    },
                )
                .map(|(max_failures, within, on_open)| Breaker::Limits {
                    max_failures,
                    within,
                    on_open,
                })
            };
            set(
                &mut options.circuit_breaker,
                value.map(|v| (path.clone(), v)),
                &path,
                errors,
            )
        }
        "shutdown" => {
            let value = if meta.input.peek(Token![=]) {
                string(meta, "shutdown = \"brutal_kill\"").map(Shutdown::Keyword)
            } else {
                nested(
                    meta,
                    SHUTDOWN_OPTIONS,
                    errors,
                    |_, meta, timeout: &mut Option<LitStr>, errors| {
                        set(
                            timeout,
                            string(meta, "timeout = \"5s\""),
                            &meta.path,
                            errors,
                        )
                    },
                )
                .map(Shutdown::Timeout)
            };
            set(
                &mut options.shutdown,
                value.map(|v| (path.clone(), v)),
                &path,
                errors,
            )
        }
        "heartbeat" => {
            let value = nested(
                meta,
                HEARTBEAT_OPTIONS,
                errors,
                |_, meta, stale: &mut Option<LitStr>, errors| {
                    set(
                        stale,
                        string(meta, "stale_after = \"3s\""),
                        &meta.path,
                        errors,
                    )
                },
            );
            set(
                &mut options.heartbeat,
                value.map(|v| (path.clone(), v)),
                &path,
                errors,
            )
        }
        "tags" => set(
            &mut options.tags,
            tags(meta).map(|t| (path.clone(), t)),
            &path,
            errors,
        ),
        _ => return false,
    };
    if let Err(error) = result {
        errors.push(error);
        skip_value(meta);
    }
    true
}

/// Stores the first value of a key; a repeated key is an error on the repetition.
pub(crate) fn set<T>(
    slot: &mut Option<T>,
    value: syn::Result<T>,
    key: &Path,
    errors: &mut Errors,
) -> syn::Result<()> {
    let value = value?;
    if slot.is_some() {
        let name = key
            .get_ident()
            .map_or_else(String::new, ToString::to_string);
        errors.push_at(
            key,
            format!("duplicate option `{name}`: give each option once"),
        );
    } else {
        *slot = Some(value);
    }
    Ok(())
}

pub(crate) fn string(meta: &ParseNestedMeta, example: &str) -> syn::Result<LitStr> {
    literal(meta, example, "a string literal", |lit| match lit {
        syn::Lit::Str(lit) => Some(lit),
        _ => None,
    })
}

pub(crate) fn integer(meta: &ParseNestedMeta, example: &str) -> syn::Result<LitInt> {
    literal(meta, example, "a whole number", |lit| match lit {
        syn::Lit::Int(lit) => Some(lit),
        _ => None,
    })
}

/// The `= value` of a key, if it is the literal `pick` accepts.
pub(crate) fn literal<T>(
    meta: &ParseNestedMeta,
    example: &str,
    expected: &str,
    pick: impl FnOnce(syn::Lit) -> Option<T>,
) -> syn::Result<T> {
    let input = meta
        .value()
        .map_err(|_| meta.error(format!("expected a value: `{example}`")))?;
    let expr: syn::Expr = input.parse()?;
    let wrong = || syn::Error::new_spanned(&expr, format!("expected {expected}: `{example}`"));
    match &expr {
        syn::Expr::Lit(syn::ExprLit { lit, .. }) => pick(lit.clone()).ok_or_else(wrong),
        _ => Err(wrong()),
    }
}

pub(crate) fn flag(meta: &ParseNestedMeta, name: &str) -> syn::Result<Path> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!(
            "`{name}` is a flag and takes no value: write just `{name}`"
        )));
    }
    Ok(meta.path.clone())
}

pub(crate) fn breaker_disabled(meta: &ParseNestedMeta) -> syn::Result<Breaker> {
    let input = meta.value()?;
    let expr: syn::Expr = input.parse()?;
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(LitBool { value: false, .. }),
            ..
        }) => Ok(Breaker::Disabled),
        other => Err(syn::Error::new_spanned(
            other,
            "write `circuit_breaker = false` to restart for ever, or `circuit_breaker(max_failures = 5, within = \"60s\")` to set the limits",
        )),
    }
}

pub(crate) fn tags(meta: &ParseNestedMeta) -> syn::Result<Vec<LitStr>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let tags = content.parse_terminated(<LitStr as syn::parse::Parse>::parse, Token![,])?;
    Ok(tags.into_iter().collect())
}

/// Parses `key(inner = .., ..)` with `item` handling each known inner key; unknown inner keys
/// are errors with suggestions, and parsing goes on.
pub(crate) fn nested<T: Default>(
    meta: &ParseNestedMeta,
    valid: &[&str],
    errors: &mut Errors,
    mut item: impl FnMut(&str, &ParseNestedMeta, &mut T, &mut Errors) -> syn::Result<()>,
) -> syn::Result<T> {
    let outer = key_of(meta);
    if !meta.input.peek(syn::token::Paren) {
        let example = valid
            .iter()
            .map(|k| format!("{k} = .."))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(meta.error(format!("`{outer}` takes a list: `{outer}({example})`")));
    }
    let mut value = T::default();
    meta.parse_nested_meta(|inner| {
        let key = key_of(&inner);
        if valid.contains(&key.as_str()) {
            if let Err(error) = item(&key, &inner, &mut value, errors) {
                errors.push(error);
                skip_value(&inner);
            }
        } else {
            errors.push_at(
                &inner.path,
                suggest::unknown(
                    &format!("`{outer}` option"),
                    &key,
                    &format!("`{outer}` options"),
                    valid,
                ),
            );
            skip_value(&inner);
        }
        Ok(())
    })?;
    Ok(value)
}

/// Consumes whatever value follows a key, so parsing can go on after an error.
pub(crate) fn skip_value(meta: &ParseNestedMeta) {
    if meta.input.peek(Token![=]) {
        let _ = meta.input.parse::<Token![=]>();
        let _ = meta.input.parse::<syn::Expr>();
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.input.parse::<proc_macro2::Group>();
    }
}
