//! The builder chain a policy model stands for.

use proc_macro2::TokenStream;
use quote::quote;

use super::model::{Breaker, Jitter, PolicyModel, Readiness, Restart, ShutdownModel};

/// The builder calls that apply `model` to a `ChildSpec` (`p` is the runtime's `__private`
/// path): each option written becomes one call that replaces that option as a whole.
pub(crate) fn chain(model: &PolicyModel, p: &TokenStream) -> TokenStream {
    let nanos = |n: u64| quote!(#p::Duration::from_nanos(#n));
    let mut chain = TokenStream::new();
    if let Some(restart) = model.restart {
        let variant = restart_variant(restart);
        chain.extend(quote!(.with_restart(#p::RestartPolicy::#variant)));
    }
    if let Some(backoff) = &model.backoff {
        let (base, max) = (nanos(backoff.base_ns), nanos(backoff.max_ns));
        let mut config = quote!(#p::BackoffConfig::new(#base, #max));
        if let Some(jitter) = backoff.jitter {
            let variant = match jitter {
                Jitter::None => quote!(None),
                Jitter::Full => quote!(Full),
                Jitter::Equal => quote!(Equal),
            };
            config.extend(quote!(.with_jitter(#p::Jitter::#variant)));
        }
        if let Some(reset) = backoff.reset_after_ns {
            let reset = nanos(reset);
            config.extend(quote!(.with_cooldown(#reset)));
        }
        match backoff.breaker {
            Breaker::Default => {}
            Breaker::Disabled => config.extend(quote!(.without_circuit_breaker())),
            Breaker::Limits {
                max_failures,
                within_ns,
                escalate: false,
            } => {
                let within = nanos(within_ns);
                config.extend(quote!(.with_circuit_breaker(#max_failures, #within)));
            }
            Breaker::Limits {
                max_failures,
                within_ns,
                escalate: true,
            } => {
                let within = nanos(within_ns);
                config.extend(quote!(.with_circuit_breaker_config(
                    #p::CircuitBreakerConfig::new(#max_failures, #within)
                        .with_on_open(#p::OnOpen::Escalate)
                )));
            }
        }
        chain.extend(quote!(.with_backoff(#config)));
    }
    if let Some(shutdown) = model.shutdown {
        let policy = match shutdown {
            ShutdownModel::Timeout(ns) => {
                let d = nanos(ns);
                quote!(Timeout(#d))
            }
            ShutdownModel::BrutalKill => quote!(BrutalKill),
            ShutdownModel::Infinity => quote!(Infinity),
        };
        chain.extend(quote!(.with_shutdown(#p::ShutdownPolicy::#policy)));
    }
    match model.readiness {
        Some(Readiness::Explicit(timeout)) => {
            let timeout = nanos(timeout);
            chain.extend(quote!(.with_readiness(#p::Readiness::Explicit { timeout: #timeout })));
        }
        Some(Readiness::Immediate) => {
            chain.extend(quote!(.with_readiness(#p::Readiness::Immediate)))
        }
        None => {}
    }
    if let Some(stale) = model.heartbeat_ns {
        let stale = nanos(stale);
        chain.extend(quote!(.with_heartbeat_timeout(#stale)));
    }
    if model.significant {
        chain.extend(quote!(.significant(true)));
    }
    for tag in &model.tags {
        chain.extend(quote!(.with_tag(#tag)));
    }
    chain
}

pub(crate) fn restart_variant(restart: Restart) -> TokenStream {
    match restart {
        Restart::Always => quote!(Always),
        Restart::OnFailure => quote!(OnFailure),
        Restart::Never => quote!(Never),
    }
}
