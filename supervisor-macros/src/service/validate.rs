//! The attribute's own checks (the function's shape, `name`, `blocking`, `crate`); the
//! policy options are checked by the shared `policy` grammar.

use super::model::ServiceModel;
use super::parse::Options;
use super::signature::{ServiceFn, Shape};
use crate::common::errors::Errors;
use crate::policy::{self, Context};

pub(crate) fn validate(
    options: Options,
    function: &ServiceFn,
    shape: &Shape,
    errors: &mut Errors,
) -> Option<ServiceModel> {
    let mut local = Errors::default();
    let sig = &function.sig;
    let blocking = options.blocking.is_some();
    match (&sig.asyncness, &options.blocking) {
        (None, None) => local.push_at(
            sig.fn_token,
            "`#[service]` needs an `async fn`: write `async fn`, or add `blocking` to run this plain fn on the blocking pool (`#[service(blocking)]`)",
        ),
        (Some(asyncness), Some(_)) => local.push_at(
            asyncness,
            "a `blocking` service is a plain fn run on the blocking pool: remove `async`, or remove `blocking` to run it as a future",
        ),
        _ => {}
    }

    if let (Some(_), Some(leased)) = (&options.blocking, shape.extras.iter().find(|e| e.leased)) {
        local.push_at(
            &leased.ty,
            "a `blocking` service cannot borrow a mailbox's inbox: its thread could outlive the attempt that lent it; consume the mailbox in an `async fn` and hand the work to `spawn_blocking` from there",
        );
    }
    let name = match &options.name {
        Some(lit) if lit.value().is_empty() => {
            local.push_at(lit, "a service name must not be empty");
            String::new()
        }
        Some(lit) => lit.value(),
        None => sig.ident.to_string(),
    };
    let policy = policy::validate(&options.policy, Context::Attribute, &mut local);
    let krate = match &options.krate {
        None => "::supervisor".to_owned(),
        Some(lit) => {
            let value = lit.value();
            if !value.starts_with("::") || syn::parse_str::<syn::Path>(&value).is_err() {
                local.push_at(lit, "`crate` must be an absolute path to the supervisor crate, starting with `::`, e.g. `crate = \"::my_app::supervisor\"`");
            }
            value
        }
    };
    *errors = std::mem::take(errors).merge(local);
    errors.is_empty().then_some(ServiceModel {
        name,
        policy,
        blocking,
        krate,
    })
}
