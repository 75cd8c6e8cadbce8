//! Semantic and cross-option checks of policy options; the result is the plain model. Shared
//! by `#[service]` and by `with(..)` in `supervisor!`.

use syn::LitStr;

use super::model::{
    BackoffModel, Breaker, DEFAULT_BASE_NS, DEFAULT_MAX_NS, DEFAULT_STARTUP_TIMEOUT_NS, Jitter,
    PolicyModel, Readiness, Restart, ShutdownModel,
};
use super::parse::{self, PolicyOptions};
use crate::common::errors::Errors;
use crate::common::{duration, suggest};

/// The runtime's `supervisor::MAX_FAILURE_COUNT`; a test of the suite checks that they agree.
pub(crate) const MAX_FAILURE_COUNT: u32 = 10_000;

const RESTARTS: &[&str] = &[
    "always",
    "on_failure",
    "never",
    "permanent",
    "transient",
    "temporary",
];
const JITTERS: &[&str] = &["full", "equal", "none"];
const ON_OPEN: &[&str] = &["terminate", "escalate"];
const SHUTDOWNS: &[&str] = &["brutal_kill", "infinity"];
const READINESS: &[&str] = &["immediate", "explicit"];

/// Where the options were written: the checks that need the rest of the declaration differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// `#[service(..)]`: everything the service declares is here.
    Attribute,
    /// `with(..)` on a child of `supervisor!`: it overrides what the child declared, which the
    /// tree checks against (a `startup_timeout` alone keeps the child's explicit readiness).
    Override,
}

pub(crate) fn validate(
    options: &PolicyOptions,
    context: Context,
    errors: &mut Errors,
) -> PolicyModel {
    let restart = options
        .restart
        .as_ref()
        .and_then(|lit| match lit.value().as_str() {
            "always" | "permanent" => Some(Restart::Always),
            "on_failure" | "transient" => Some(Restart::OnFailure),
            "never" | "temporary" => Some(Restart::Never),
            other => {
                errors.push_at(
                    lit,
                    suggest::unknown("restart policy", other, "values", RESTARTS),
                );
                None
            }
        });
    if restart == Some(Restart::Never) {
        for (key, present) in [
            ("backoff", options.backoff.as_ref().map(|(k, _)| k)),
            (
                "circuit_breaker",
                options.circuit_breaker.as_ref().map(|(k, _)| k),
            ),
        ] {
            if let Some(key_path) = present {
                errors.push_at(
                    key_path,
                    format!("`{key}` has no effect with `restart = \"never\"`: the service is never restarted; remove `{key}` or choose another restart policy"),
                );
            }
        }
    }
    let backoff = backoff_model(options, errors);
    let shutdown = options
        .shutdown
        .as_ref()
        .and_then(|(key, value)| match value {
            parse::Shutdown::Keyword(lit) => match lit.value().as_str() {
                "brutal_kill" => Some(ShutdownModel::BrutalKill),
                "infinity" => Some(ShutdownModel::Infinity),
                other => {
                    let mut message =
                        suggest::unknown("shutdown policy", other, "values", SHUTDOWNS);
                    message.push_str(", or a timeout: `shutdown(timeout = \"5s\")`");
                    errors.push_at(lit, message);
                    None
                }
            },
            parse::Shutdown::Timeout(Some(lit)) => nanos(lit, errors).map(ShutdownModel::Timeout),
            parse::Shutdown::Timeout(None) => {
                errors.push_at(
                    key,
                    "`shutdown(..)` needs a timeout: `shutdown(timeout = \"5s\")`",
                );
                None
            }
        });
    let written = options
        .readiness
        .as_ref()
        .and_then(|lit| match lit.value().as_str() {
            "explicit" => Some(true),
            "immediate" => Some(false),
            other => {
                errors.push_at(
                    lit,
                    suggest::unknown("readiness", other, "values", READINESS),
                );
                None
            }
        });
    let timeout = options
        .startup_timeout
        .as_ref()
        .and_then(|lit| nanos(lit, errors));
    let readiness = match (written, &options.startup_timeout) {
        (Some(true), _) => Some(Readiness::Explicit(
            timeout.unwrap_or(DEFAULT_STARTUP_TIMEOUT_NS),
        )),
        // An override's timeout alone: the tree checks that the child's own readiness is
        // explicit.
        (None, Some(_)) if context == Context::Override => timeout.map(Readiness::Explicit),
        (_, Some(lit)) => {
            errors.push_at(lit, "`startup_timeout` applies only with `readiness = \"explicit\"`: add it, or remove `startup_timeout`");
            None
        }
        (Some(false), None) => Some(Readiness::Immediate),
        (None, None) => None,
    };
    let heartbeat_ns = options
        .heartbeat
        .as_ref()
        .and_then(|(key, stale)| match stale {
            Some(lit) => nanos(lit, errors),
            None => {
                errors.push_at(
                    key,
                    "`heartbeat(..)` needs a limit: `heartbeat(stale_after = \"3s\")`",
                );
                None
            }
        });
    let significant = options.significant.is_some();
    if let (Some(key), Some(Restart::Always)) = (&options.significant, restart) {
        errors.push_at(key, "a significant service must not be restarted always: it would never terminate normally; use `restart = \"on_failure\"` or `\"never\"`");
    }
    let tags = options
        .tags
        .as_ref()
        .map(|(_, tags)| tags.iter().map(LitStr::value).collect())
        .unwrap_or_default();
    PolicyModel {
        restart,
        backoff,
        shutdown,
        readiness,
        heartbeat_ns,
        significant,
        tags,
    }
}

pub(crate) fn nanos(lit: &LitStr, errors: &mut Errors) -> Option<u64> {
    duration::parse(&lit.value())
        .map_err(|message| errors.push_at(lit, message))
        .ok()
}

fn backoff_model(options: &PolicyOptions, errors: &mut Errors) -> Option<BackoffModel> {
    let backoff = options.backoff.as_ref().map(|(_, b)| b);
    let breaker = match options.circuit_breaker.as_ref().map(|(_, b)| b) {
        None => Breaker::Default,
        Some(parse::Breaker::Disabled) => Breaker::Disabled,
        Some(parse::Breaker::Limits {
            max_failures,
            within,
            on_open,
        }) => {
            let max_failures = match max_failures {
                None => 10,
                Some(lit) => match lit.base10_parse::<u32>() {
                    Ok(0) => {
                        errors.push_at(lit, "`max_failures` must be at least 1 (or write `circuit_breaker = false` to restart for ever)");
                        1
                    }
                    Ok(n) if n <= MAX_FAILURE_COUNT => n,
                    _ => {
                        errors.push_at(
                            lit,
                            format!("`max_failures` must be a whole number from 1 to {MAX_FAILURE_COUNT}"),
                        );
                        1
                    }
                },
            };
            let within_ns = within
                .as_ref()
                .map_or(Some(600_000_000_000), |lit| nanos(lit, errors))
                .unwrap_or(1);
            let escalate = on_open
                .as_ref()
                .is_some_and(|lit| match lit.value().as_str() {
                    "escalate" => true,
                    "terminate" => false,
                    other => {
                        errors.push_at(lit, suggest::unknown("on_open", other, "values", ON_OPEN));
                        false
                    }
                });
            Breaker::Limits {
                max_failures,
                within_ns,
                escalate,
            }
        }
    };
    if backoff.is_none() && breaker == Breaker::Default {
        return None;
    }
    let base_ns = backoff
        .and_then(|b| b.base.as_ref())
        .map_or(Some(DEFAULT_BASE_NS), |lit| nanos(lit, errors));
    let max_ns = backoff
        .and_then(|b| b.max.as_ref())
        .map_or(Some(DEFAULT_MAX_NS), |lit| nanos(lit, errors));
    if let (Some(base), Some(max)) = (base_ns, max_ns)
        && base > max
    {
        let (at, which) = match backoff.and_then(|b| b.max.as_ref()) {
            Some(lit) => (lit.clone(), "max"),
            None => (
                backoff
                    .and_then(|b| b.base.clone())
                    .unwrap_or_else(|| LitStr::new("", proc_macro2::Span::call_site())),
                "base",
            ),
        };
        errors.push_at(
            &at,
            format!(
                "backoff `base` ({}) is greater than `max` ({}): the first delay cannot exceed the largest (check `{which}`)",
                show(base),
                show(max)
            ),
        );
    }
    let jitter =
        backoff
            .and_then(|b| b.jitter.as_ref())
            .and_then(|lit| match lit.value().as_str() {
                "full" => Some(Jitter::Full),
                "equal" => Some(Jitter::Equal),
                "none" => Some(Jitter::None),
                other => {
                    errors.push_at(lit, suggest::unknown("jitter", other, "values", JITTERS));
                    None
                }
            });
    let reset_after_ns = backoff
        .and_then(|b| b.reset_after.as_ref())
        .and_then(|lit| nanos(lit, errors));
    Some(BackoffModel {
        base_ns: base_ns.unwrap_or(DEFAULT_BASE_NS),
        max_ns: max_ns.unwrap_or(DEFAULT_MAX_NS),
        jitter,
        reset_after_ns,
        breaker,
    })
}

/// Nanoseconds as a short duration for messages.
fn show(nanos: u64) -> String {
    format!("{:?}", std::time::Duration::from_nanos(nanos))
}
