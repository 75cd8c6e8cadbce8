//! The smallest supervised program: `cargo run --example quickstart` (about 2 s).
use std::time::Duration;

use supervisor::prelude::*;

#[service(restart = "on_failure", backoff(base = "100ms", max = "5s"))]
async fn market_feed(ctx: TaskContext) -> anyhow::Result<()> {
    if ctx.attempt() < 3 {
        anyhow::bail!("exchange closed the connection (attempt {})", ctx.attempt());
    }
    println!("market_feed connected on attempt {}", ctx.attempt());
    ctx.cancelled().await; // until shutdown
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tree = supervisor! { name = "bot", market_feed() }.start().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("{}", tree.current_state().await);
    println!("{}", tree.shutdown_tree("quickstart", "done").await);
    Ok(())
}
