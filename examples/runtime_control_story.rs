//! Steering a running tree: `cargo run --example runtime_control_story` (about 2 s).
//!
//! Adds a venue at run time, pauses and resumes the feed (the router that requires it waits),
//! quarantines a broken venue and releases it, restarts the risk engine, fills orders through
//! a pool, and prints the state, the audit trail and the shutdown report.
use std::time::Duration;

use supervisor::prelude::*;
use supervisor::{EventKind, service_fn};

#[service(restart = "always")]
async fn market_feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service(restart = "always")]
async fn order_router(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service(restart = "always")]
async fn risk_engine(ctx: TaskContext) {
    ctx.cancelled().await;
}

/// One order to fill.
#[derive(Clone)]
struct Order(u64);

/// One fill worker of the pool: `start_child` passes `fill_order::Service(order)`.
#[service(restart = "never")]
async fn fill_order(ctx: TaskContext, order: Order) {
    let _ = ctx;
    tokio::time::sleep(Duration::from_millis(100)).await;
    println!("  filled order {}", order.0);
}

async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tree = supervisor! {
        name = "bot",
        max_dynamic_children = 4,
        market_feed(),
        order_router() requires(market_feed),
        risk_engine() after(market_feed),
        pool fills(max = 8) = fill_order,
    }
    .start()
    .await?;
    let mut audit = tree.subscribe();
    pause(100).await;

    let kraken = service_fn("kraken_feed", |ctx: TaskContext| async move {
        ctx.cancelled().await
    });
    let added = tree.add_child("bot", kraken, "alice", "new venue").await?;
    println!("added {} ({})", added.path, added.phase);

    tree.pause_child("bot/market_feed", "alice", "exchange maintenance")
        .await?;
    pause(100).await;
    println!(
        "\nwhile the feed is paused:\n{}",
        tree.current_state().await
    );
    let again = tree
        .pause_child("bot/market_feed", "alice", "twice")
        .await?;
    println!("pausing again changes nothing: changed = {}", again.changed);
    tree.resume_child("bot/market_feed", "alice", "maintenance over")
        .await?;

    tree.quarantine_child("bot/kraken_feed", "bob", "bad prices")
        .await?;
    println!(
        "health with kraken quarantined: healthy = {}",
        tree.health().await.healthy
    );
    tree.release_child("bot/kraken_feed", "bob", "fixed upstream")
        .await?;
    tree.restart_child("bot/risk_engine", "bob", "reload limits")
        .await?;

    for id in 1..=3 {
        let worker = tree
            .start_child(
                "bot/fills",
                fill_order::Service(Order(id)),
                "router",
                "new order",
            )
            .await?;
        println!("order {id} -> {}", worker.path);
    }
    pause(300).await;
    println!(
        "fill workers left: {}",
        tree.count_children("bot/fills").await?.specs
    );
    match tree.restart_child("bot/kraken_fed", "bob", "typo").await {
        Err(error) => println!("a typo is refused: {error}"),
        Ok(_) => unreachable!("no child has that path"),
    }

    println!("\n{}", tree.current_state().await);
    println!("audit trail:");
    while let Ok(event) = audit.try_recv() {
        if let EventKind::Command(command) = event.kind {
            println!(
                "  #{} {} {} by {}: {}",
                command.command_id,
                command.command,
                command.target,
                command.requested_by,
                command.reason
            );
        }
    }
    println!("\n{}", tree.shutdown_tree("alice", "end of session").await);
    Ok(())
}
