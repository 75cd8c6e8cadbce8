// Every child form and option of supervisor! compiles warning-free.
#![deny(warnings)]

use std::time::Duration;

use supervisor::prelude::*;

#[derive(Clone)]
pub enum Venue {
    Binance,
    Coinbase,
}

#[service]
async fn market_feed(ctx: TaskContext, venue: Venue) {
    let _ = venue;
    ctx.cancelled().await;
}

#[service(restart = "never")]
async fn job(ctx: TaskContext) {
    let _ = ctx;
}

#[service(blocking)]
fn replay(ctx: TaskContext) {
    while !ctx.is_cancelled() {
        std::thread::yield_now();
    }
}

fn prebuilt() -> ChildSpec {
    service_fn("prebuilt", |ctx: TaskContext| async move { ctx.cancelled().await })
}

fn main() {
    let tree = supervisor! {
        name = "bot",
        strategy = "one_for_all",
        intensity(max_restarts = 3, within = "1m"),
        shutdown_timeout = "1.5s",
        auto_shutdown = "any_significant",
        max_dynamic_children = 8,
        market_feed(Venue::Binance),
        coinbase: market_feed(Venue::Coinbase) after(market_feed),
        job() with(significant, shutdown = "brutal_kill"),
        replay() with(shutdown = "infinity", restart = "transient"),
        other = prebuilt() with(readiness = "explicit", startup_timeout = "2s"),
        ticker = |ctx: TaskContext| async move { ctx.cancelled().await },
        supervisor execution(strategy = "rest_for_one", auto_shutdown = "never") {
            a = |ctx: TaskContext| async move { ctx.cancelled().await },
            supervisor deeper { b = |ctx: TaskContext| async move { ctx.cancelled().await } },
        } after(coinbase, ticker),
        pool venues(max = 4) = market_feed with(shutdown(timeout = "10s")),
        pool jobs(max = 2) = |n: u32| job::spec().with_name(n.to_string()),
    };
    let _ = (tree.startup_order(), Duration::ZERO);
}
