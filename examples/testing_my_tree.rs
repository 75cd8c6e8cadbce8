//! Testing your supervision tree with `supervisor::testing` (feature `testing`): the same
//! services as in production, faults injected around them by path, on Tokio's paused clock
//! (a 30 s backoff takes no time, and every run is the same).
//!
//! In your crate, enable the feature for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! supervisor = { version = "0.1", features = ["testing"] }
//! tokio = { version = "1", features = ["macros", "rt", "test-util"] }
//! ```
//!
//! and write tests as `main` does here, under `#[tokio::test(start_paused = true)]`.
//! `cargo run --example testing_my_tree` runs them as a program and prints what it checked.

use std::time::Duration;

use supervisor::expect_events;
use supervisor::prelude::*;
use supervisor::testing::{EventPattern::*, TestKit};

#[service(
    restart = "on_failure",
    backoff(base = "1s", max = "30s", jitter = "none"),
    circuit_breaker(max_failures = 3, within = "60s")
)]
async fn market_feed(ctx: TaskContext) -> anyhow::Result<()> {
    ctx.cancelled().await;
    Ok(())
}

#[service(shutdown(timeout = "2s"))]
async fn order_router(ctx: TaskContext) {
    ctx.cancelled().await;
}

async fn kit() -> TestKit {
    let tree = supervisor! {
        name = "bot",
        market_feed(),
        order_router() requires(market_feed),
    };
    TestKit::start(tree.into_spec().expect("a valid tree"))
        .await
        .expect("the tree starts")
}

/// A dropped feed is restarted after its backoff, and the router bound to it with it.
async fn a_dropped_feed_restarts_the_router_with_it() {
    let mut kit = kit().await;
    kit.fail("bot/market_feed", "connection reset");
    expect_events!(kit, [
        "bot/market_feed" => Failed,
        "bot/market_feed" => Restarted { attempt: 2 },
        "bot/order_router" => Restarted { attempt: 2 },
    ]);
    kit.shutdown().await;
    println!("ok: a dropped feed restarts the router with it");
}

/// Three failures within a minute open the feed's breaker; the router, which requires it,
/// stops for good too.
async fn a_feed_that_keeps_failing_trips_its_breaker() {
    let mut kit = kit().await;
    for attempt in 1..=3 {
        kit.expect("bot/market_feed", Started { attempt }).await;
        kit.fail("bot/market_feed", "venue down");
    }
    kit.expect("bot/market_feed", CircuitOpen).await;
    kit.expect("bot/order_router", Terminated).await;
    let state = kit.tree().current_state().await;
    assert_eq!(
        state.find("bot/market_feed").unwrap().phase,
        ServicePhase::Terminated
    );
    kit.shutdown().await;
    println!("ok: a feed that keeps failing trips its breaker, and the router stops with it");
}

/// A router that takes longer than its 2 s to flush is aborted at shutdown, and reported.
async fn a_router_slow_to_flush_is_aborted_at_its_limit() {
    let mut kit = kit().await;
    kit.expect("bot/order_router", Started { attempt: 1 }).await;
    kit.slow_stop("bot/order_router", Duration::from_secs(10));
    let report = kit.shutdown().await;
    let router = report
        .services
        .iter()
        .find(|s| s.path == "bot/order_router")
        .unwrap();
    assert_eq!(router.outcome, StopOutcome::Aborted);
    println!(
        "ok: a router slow to flush is aborted after {:?}",
        report.duration
    );
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    a_dropped_feed_restarts_the_router_with_it().await;
    a_feed_that_keeps_failing_trips_its_breaker().await;
    a_router_slow_to_flush_is_aborted_at_its_limit().await;
}
