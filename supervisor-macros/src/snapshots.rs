//! Expansion snapshots: what the macros generate for a few representative inputs, kept in
//! `expanded/` so the size and shape of generated code show in review. Regenerate with
//! `UPDATE_EXPANDED=1 cargo test -p supervisor-macros` and read the diff.

use std::path::Path;

use proc_macro2::TokenStream;
use quote::quote;

/// One item per line, roughly: enough to read and diff.
fn pretty(tokens: TokenStream) -> String {
    let mut text = tokens.to_string();
    for (from, to) in [(" ; ", " ;\n"), (" { ", " {\n"), (" } ", " }\n")] {
        text = text.replace(from, to);
    }
    text.push('\n');
    text
}

fn check(name: &str, tokens: TokenStream) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("expanded")
        .join(format!("{name}.txt"));
    let actual = pretty(tokens);
    if std::env::var_os("UPDATE_EXPANDED").is_some() {
        std::fs::write(&path, &actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "expansion of `{name}` changed; rerun with UPDATE_EXPANDED=1 and review expanded/{name}.txt"
    );
}

#[test]
fn minimal_service() {
    check(
        "minimal_service",
        crate::service::expand(
            quote!(),
            quote!(
                async fn feed(ctx: TaskContext) {}
            ),
        ),
    );
}

#[test]
fn consumer_service() {
    check(
        "consumer_service",
        crate::service::expand(
            quote!(restart = "always"),
            quote!(
                async fn order_router(
                    ctx: TaskContext,
                    orders: &mut Inbox<Order>,
                    venue: Venue,
                ) -> anyhow::Result<()> {
                    Ok(())
                }
            ),
        ),
    );
}

#[test]
fn full_service() {
    check(
        "full_service",
        crate::service::expand(
            quote!(
                name = "market-feed",
                restart = "on_failure",
                backoff(
                    base = "100ms",
                    max = "30s",
                    jitter = "full",
                    reset_after = "5m"
                ),
                circuit_breaker(max_failures = 5, within = "60s"),
                shutdown(timeout = "5s"),
                readiness = "explicit",
                startup_timeout = "10s",
                heartbeat(stale_after = "3s"),
                significant,
                tags("market", "critical")
            ),
            quote!(
                pub async fn market_feed(
                    ctx: TaskContext,
                    venue: Venue,
                    symbols: Vec<String>,
                ) -> anyhow::Result<()> {
                    Ok(())
                }
            ),
        ),
    );
}

#[test]
fn nested_tree() {
    check(
        "nested_tree",
        crate::tree::expand(quote!(
            name = "bot",
            intensity(max_restarts = 10, within = "60s"),
            market_feed(Venue::Binance),
            risk_engine() after(market_feed),
            supervisor execution(strategy = "rest_for_one") {
                order_router() with(shutdown = "brutal_kill"),
                fills = |ctx: TaskContext| async move { ctx.cancelled().await } after(order_router),
            } after(risk_engine),
        )),
    );
}

#[test]
fn mailbox_tree() {
    check(
        "mailbox_tree",
        crate::tree::expand(quote!(
            name = "bot",
            mailbox orders: Order(capacity = 1024, delivery = "at_least_once", dead_letters = poison),
            mailbox poison: DeadLetter<Order>(capacity = 64),
            poison_keeper(poison.inbox()),
            order_router(orders.inbox()),
            strategy(orders.sender()),
        )),
    );
}
