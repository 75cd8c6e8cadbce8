//! After a meltdown, what happened: `cargo run --example diagnostic_replay` (about 2 s).
//!
//! A venue keeps rejecting orders until its execution supervisor gives up, twice. Only
//! afterwards does an operator look: the journal replays the whole run, and the run summary
//! says per child what it went through.
use std::time::Duration;

use supervisor::EventKind;
use supervisor::prelude::*;

#[service(
    restart = "always",
    backoff(base = "10ms", max = "10ms", jitter = "none")
)]
async fn order_router(ctx: TaskContext) -> anyhow::Result<()> {
    anyhow::bail!("venue rejected the order (attempt {})", ctx.attempt())
}

#[service]
async fn market_feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tree = supervisor! {
        name = "bot",
        market_feed(),
        supervisor execution(intensity(max_restarts = 3, within = "10s")) {
            order_router(),
        } with(backoff(base = "500ms", max = "500ms", jitter = "none")),
    }
    .start()
    .await?;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    tree.shutdown_tree("operator", "meltdown").await;

    // Nobody was subscribed while it happened: the journal still has it.
    let mut replay = tree.subscribe_from(1);
    println!("what the journal kept:");
    while let Some(event) = replay.next().await {
        match event {
            Ok(event) => match &event.kind {
                EventKind::PhaseChanged { .. } => {}
                _ => println!("  {event}  (correlation {:?})", event.correlation),
            },
            Err(missed) => println!("  ... {missed}"),
        }
    }
    println!("\nrun summary:\n{}", tree.run_summary().await);
    Ok(())
}
