//! The attribute's options, as written, with the spans of their tokens: the policy options
//! (shared with `supervisor!`'s `with(..)`) plus `name`, `blocking` and `crate`.

use proc_macro2::TokenStream;
use syn::LitStr;
use syn::Path;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;

use crate::common::errors::Errors;
use crate::common::suggest;
use crate::policy::parse::{
    PolicyOptions, flag, key_of, parse_policy_option, set, skip_value, string,
};

/// Every option, in the order the docs list them.
pub(crate) const OPTIONS: &[&str] = &[
    "name",
    "restart",
    "backoff",
    "circuit_breaker",
    "shutdown",
    "readiness",
    "startup_timeout",
    "heartbeat",
    "significant",
    "tags",
    "blocking",
    "crate",
];

#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    pub(crate) policy: PolicyOptions,
    pub(crate) blocking: Option<Path>,
    pub(crate) krate: Option<LitStr>,
}

/// Parses the options; problems go to `errors` and parsing goes on, so every mistake shows.
pub(crate) fn parse_options(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let mut local = Errors::default();
    let parser = syn::meta::parser(|meta| {
        parse_option(&meta, &mut options, &mut local);
        Ok(())
    });
    let parsed = parser.parse2(args);
    *errors = std::mem::take(errors).merge(local);
    if let Err(error) = parsed {
        errors.push(error);
    }
    options
}

fn parse_option(meta: &ParseNestedMeta, options: &mut Options, errors: &mut Errors) {
    let key = key_of(meta);
    let path = meta.path.clone();
    let result = match key.as_str() {
        "name" => set(
            &mut options.name,
            string(meta, "name = \"market-feed\""),
            &path,
            errors,
        ),
        "crate" => set(
            &mut options.krate,
            string(meta, "crate = \"::my_runtime::supervisor\""),
            &path,
            errors,
        ),
        "blocking" => set(&mut options.blocking, flag(meta, "blocking"), &path, errors),
        _ if parse_policy_option(&key, meta, &mut options.policy, errors) => Ok(()),
        _ => {
            errors.push_at(
                &meta.path,
                suggest::unknown("option", &key, "options", OPTIONS),
            );
            skip_value(meta);
            Ok(())
        }
    };
    if let Err(error) = result {
        errors.push(error);
        skip_value(meta);
    }
}

/// The policy options are the attribute's options but `name`, `blocking` and `crate`.
#[cfg(test)]
#[test]
fn every_policy_option_is_an_option() {
    for key in crate::policy::parse::POLICY_OPTIONS {
        assert!(OPTIONS.contains(key), "{key}");
    }
}
