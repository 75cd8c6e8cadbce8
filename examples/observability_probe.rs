//! Watching a tree: `cargo run --example observability_probe` (about 1 s).
//!
//! Logs through `tracing-subscriber` (each attempt's lines carry its span), a live event
//! subscription, health as a probe would read it, and the Prometheus text a host would serve.
use std::time::Duration;

use prometheus_client::registry::Registry;
use supervisor::prelude::*;
use supervisor::{EventKind, PrometheusCollector};

#[service(backoff(base = "100ms", max = "100ms", jitter = "none"))]
async fn market_feed(ctx: TaskContext) -> anyhow::Result<()> {
    tracing::info!("connecting");
    if ctx.attempt() < 3 {
        anyhow::bail!("connection reset");
    }
    ctx.cancelled().await;
    Ok(())
}

#[service(readiness = "explicit", startup_timeout = "5s")]
async fn risk_engine(ctx: TaskContext) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    ctx.ready();
    ctx.cancelled().await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .without_time()
        .init();
    let tree = supervisor! {
        name = "bot",
        market_feed(),
        risk_engine(),
    }
    .start()
    .await?;
    let mut events = tree.subscribe();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(PrometheusCollector::new(tree.metrics().clone())));

    let health = tree.health().await;
    println!(
        "at start: healthy = {}, problems = {:?}",
        health.healthy, health.problems
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let health = tree.health().await;
    println!(
        "after 500 ms: healthy = {}, ready = {}",
        health.healthy, health.ready
    );

    println!("\nevents since subscribing (the journal has the rest: `subscribe_from(1)`):");
    while let Ok(event) = events.try_recv() {
        if !matches!(event.kind, EventKind::PhaseChanged { .. }) {
            println!("  {event}");
        }
    }
    println!("\nmetrics:\n{}", tree.metrics().snapshot());
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    println!("what /metrics would serve:\n{text}");
    tree.shutdown_tree("probe", "done").await;
    Ok(())
}
