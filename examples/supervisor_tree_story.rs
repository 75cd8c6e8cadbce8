//! A supervision tree, declared by hand: a market feed, a risk engine that depends on it and
//! reports ready once its limits are loaded, and an execution sub-supervisor (rest-for-one)
//! with an order router and a fill tracker.
//!
//! It prints the startup order, then the order router fails once and the story shows the
//! restart scope that failure caused, the tree's state, and the shutdown report.
//!
//! `cargo run --example supervisor_tree_story` (about 3 s).

use std::time::Duration;

use supervisor::prelude::*;
use supervisor::{EventKind, ServicePhase};
use tokio::time::sleep;

fn market_feed() -> ChildSpec {
    service_fn("market_feed", |ctx: TaskContext| async move {
        while !ctx.is_cancelled() {
            ctx.heartbeat();
            tokio::select! {
                _ = ctx.cancelled() => {}
                _ = sleep(Duration::from_millis(200)) => {}
            }
        }
    })
    .with_heartbeat_timeout(Duration::from_secs(2))
}

fn risk_engine() -> ChildSpec {
    service_fn("risk_engine", |ctx: TaskContext| async move {
        sleep(Duration::from_millis(300)).await; // loading position limits
        ctx.ready();
        ctx.cancelled().await;
    })
    .with_readiness(Readiness::Explicit {
        timeout: Duration::from_secs(5),
    })
    .after(["market_feed"])
}

fn order_router() -> ChildSpec {
    service_fn("order_router", |ctx: TaskContext| async move {
        if ctx.attempt() == 1 {
            sleep(Duration::from_millis(800)).await;
            return Err(std::io::Error::other("venue closed the session"));
        }
        ctx.cancelled().await;
        sleep(Duration::from_millis(150)).await; // flushing open orders
        Ok(())
    })
    .with_backoff(
        BackoffConfig::new(Duration::from_millis(200), Duration::from_secs(5))
            .with_jitter(Jitter::None),
    )
}

fn fill_tracker() -> ChildSpec {
    service_fn("fill_tracker", |ctx: TaskContext| async move {
        ctx.cancelled().await;
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let execution = SupervisorSpec::builder("execution")
        .strategy(Strategy::RestForOne)
        .child(order_router())
        .child(fill_tracker())
        .build()?;
    let bot = SupervisorSpec::builder("bot")
        .intensity(10, Duration::from_secs(60))
        .child(ChildSpec::supervisor(execution).after(["risk_engine"]))
        .child(risk_engine())
        .child(market_feed())
        .build()?;
    println!("startup order:  {}", bot.startup_order().join(" -> "));
    println!("shutdown order: {}\n", bot.shutdown_order().join(" -> "));

    let config = SupervisorConfig::default().without_signal_handler();
    let (tree, mut events) = Supervisor::start_with_events(bot, config).await?;
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
