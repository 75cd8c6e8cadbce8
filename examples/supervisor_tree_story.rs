//! A supervision tree declared with the DSL: a market feed, a risk engine that depends on it
//! and reports ready once its limits are loaded, and an execution sub-supervisor
//! (rest-for-one) with an order router and a fill tracker.
//!
//! It prints the startup order, then the order router fails once and the story shows the
//! restart scope that failure caused, the tree's state, and the shutdown report.
//!
//! `cargo run --example supervisor_tree_story` (about 3 s).

use std::time::Duration;

use supervisor::prelude::*;
use supervisor::{EventKind, ServicePhase};
use tokio::time::sleep;

#[service(heartbeat(stale_after = "2s"))]
async fn market_feed(ctx: TaskContext) {
    while !ctx.is_cancelled() {
        ctx.heartbeat();
        tokio::select! {
            _ = ctx.cancelled() => {}
            _ = sleep(Duration::from_millis(200)) => {}
        }
    }
}

#[service(readiness = "explicit", startup_timeout = "5s")]
async fn risk_engine(ctx: TaskContext) {
    sleep(Duration::from_millis(300)).await; // loading position limits
    ctx.ready();
    ctx.cancelled().await;
}

#[service(backoff(base = "200ms", max = "5s", jitter = "none"))]
async fn order_router(ctx: TaskContext) -> std::io::Result<()> {
    if ctx.attempt() == 1 {
        sleep(Duration::from_millis(800)).await;
        return Err(std::io::Error::other("venue closed the session"));
    }
    ctx.cancelled().await;
    sleep(Duration::from_millis(150)).await; // flushing open orders
    Ok(())
}

#[service]
async fn fill_tracker(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bot = supervisor! {
        name = "bot",
        intensity(max_restarts = 10, within = "60s"),
        supervisor execution(strategy = "rest_for_one") {
            order_router(),
            // Bound to the router: restarted with it, ended with it.
            fill_tracker() requires(order_router),
        } after(risk_engine),
        // Ordering only: a feed reconnect does not make the engine reload its limits.
        risk_engine() after(market_feed),
        market_feed(),
    };
    println!("startup order:  {}", bot.startup_order().join(" -> "));
    println!("shutdown order: {}\n", bot.shutdown_order().join(" -> "));

    let config = SupervisorConfig::default().without_signal_handler();
    let (tree, mut events) = bot.start_with_events(config).await?;
    let printer = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            let shown = match &event.kind {
                EventKind::PhaseChanged { to, .. } => to == &ServicePhase::Stopping,
                _ => true,
            };
            if shown {
                println!("{event}");
            }
            if event.kind == EventKind::ShutdownCompleted && &*event.path == "bot" {
                break;
            }
        }
    });

    sleep(Duration::from_millis(1_500)).await;
    println!(
        "\ntree after the order router's failure:\n{}",
        tree.current_state().await
    );

    sleep(Duration::from_millis(1_000)).await;
    let report = tree.shutdown_tree("story", "end of the trading day").await;
    printer.await?;
    println!(
        "\n{report} (requested by {}: {})",
        report.requested_by, report.reason
    );
    for service in &report.services {
        println!("  {:<30} {}", service.path, service.outcome);
    }
    Ok(())
}
