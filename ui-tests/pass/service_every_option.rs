// Every #[service] option at once compiles warning-free.
#![deny(warnings)]

use supervisor::{service, ServiceError, TaskContext};

#[derive(Clone)]
pub struct Venue(pub String);

#[service(
    name = "market-feed",
    restart = "transient",
    backoff(base = "100ms", max = "30s", jitter = "full", reset_after = "5m"),
    circuit_breaker(max_failures = 5, within = "60s"),
    shutdown(timeout = "5s"),
    readiness = "explicit",
    startup_timeout = "10s",
    heartbeat(stale_after = "3s"),
    significant,
    tags("market", "critical"),
    crate = "::supervisor"
)]
pub async fn market_feed(ctx: TaskContext, venue: Venue, symbols: Vec<String>) -> Result<(), ServiceError> {
    ctx.ready();
    ctx.cancelled().await;
    let _ = (venue.0, symbols);
    Ok(())
}

#[service(blocking, restart = "always", circuit_breaker = false, shutdown = "infinity")]
pub fn replay_archive(ctx: TaskContext) -> std::io::Result<()> {
    while !ctx.is_cancelled() {
        std::thread::yield_now();
    }
    Ok(())
}

#[service(restart = "permanent", shutdown = "brutal_kill")]
async fn private_poller(ctx: TaskContext) -> anyhow::Result<()> {
    ctx.cancelled().await;
    Ok(())
}

fn main() {
    let _ = market_feed::spec(Venue("binance".into()), vec![]);
    let _ = replay_archive::spec();
    let _ = private_poller::spec();
    let _ = private_poller::Service;
}
