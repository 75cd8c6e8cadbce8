//! The main job: a simulated trading bot under supervision.
//!
//! A flaky market feed is restarted with growing backoff, a candle poller that panics on bad
//! data is restarted at once, a heartbeat just runs, a broken risk-limit loader trips its
//! circuit breaker, and the order router flushes its pending orders on shutdown.
//!
//! Run it with `cargo run --example trading_bot` (add `-- --seconds N` to change the ~10 s run
//! time; Ctrl-C ends it early, a second Ctrl-C aborts the drain).

use std::time::Duration;

use supervisor::prelude::*;
use supervisor::{CompactDuration, EventKind, LifecycleEvent};
use tokio::time::{interval, sleep};

/// Drops its exchange connection on the first three attempts, then streams quotes.
struct MarketFeed;

impl TradingService for MarketFeed {
    fn name(&self) -> &str {
        "market-feed"
    }

    fn run(&self, ctx: TaskContext) -> ServiceFuture<'_> {
        Box::pin(async move {
            let mut quotes = interval(Duration::from_millis(250));
            let mut received = 0u32;
            loop {
                tokio::select! {
                    _ = ctx.cancelled() => return Ok(()),
                    _ = quotes.tick() => {
                        received += 1;
                        ctx.heartbeat();
                        if ctx.attempt() <= 3 && received == 3 {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::ConnectionReset,
                                "exchange closed the websocket",
                            )
                            .into());
                        }
                    }
                }
            }
        })
    }
}

/// Polls candles every 400 ms and panics on the malformed one every fourth attempt meets.
struct CandlePoller;

impl TradingService for CandlePoller {
    fn name(&self) -> &str {
        "candle-poller"
    }

    fn restart_policy(&self) -> RestartPolicy {
        RestartPolicy::Always
    }

    fn run(&self, ctx: TaskContext) -> ServiceFuture<'_> {
        Box::pin(async move {
            let mut polls = interval(Duration::from_millis(400));
            let mut candles: Vec<f64> = Vec::new();
            loop {
                tokio::select! {
                    _ = ctx.cancelled() => return Ok(()),
                    _ = polls.tick() => {
                        // The exchange sends an empty page now and then.
                        let page: Vec<f64> = if candles.len() == 5 { vec![] } else { vec![101.5] };
                        let close = page[0]; // panics on the empty page
                        candles.push(close);
                    }
                }
            }
        })
    }
}

/// Reports liveness every second.
struct Heartbeat;

impl TradingService for Heartbeat {
    fn name(&self) -> &str {
        "heartbeat"
    }

    fn restart_policy(&self) -> RestartPolicy {
        RestartPolicy::Always
    }

    fn run(&self, ctx: TaskContext) -> ServiceFuture<'_> {
        Box::pin(async move {
            let mut beats = interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = ctx.cancelled() => return Ok(()),
                    _ = beats.tick() => ctx.heartbeat(),
                }
            }
        })
    }
}

/// Cannot reach the risk database: fails every attempt until its breaker opens.
struct RiskLimitsLoader;

impl TradingService for RiskLimitsLoader {
    fn name(&self) -> &str {
        "risk-limits"
    }

    fn run(&self, _ctx: TaskContext) -> ServiceFuture<'_> {
        Box::pin(async move {
            sleep(Duration::from_millis(50)).await;
            Err(ServiceError::from(
                "risk database unreachable: connection refused",
            ))
        })
    }
}

/// Routes orders; on shutdown it flushes what is pending before returning.
struct OrderRouter;

impl TradingService for OrderRouter {
    fn name(&self) -> &str {
        "order-router"
    }

    fn run(&self, ctx: TaskContext) -> ServiceFuture<'_> {
        Box::pin(async move {
            let mut pending = 0u32;
            let mut orders = interval(Duration::from_millis(700));
            loop {
                tokio::select! {
                    _ = ctx.cancelled() => break,
                    _ = orders.tick() => pending = pending % 3 + 1,
                }
            }
            println!(
                "             order-router: flushing {pending} pending order(s) before stopping"
            );
            sleep(Duration::from_millis(300)).await;
            println!("             order-router: all orders acknowledged");
            Ok(())
        })
    }
}

fn run_seconds() -> Result<u64, String> {
    let mut args = std::env::args().skip(1);
    let mut seconds = 10;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().ok_or("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .map_err(|_| format!("--seconds needs a whole number, not `{value}`"))?;
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: trading_bot [--seconds N]"
                ));
            }
        }
    }
    Ok(seconds)
}

fn print_event(event: &LifecycleEvent) {
    // Moves into these phases have their own, more telling event (started, backing off,
    // terminated); print only the move to stopping.
    let told_elsewhere = matches!(
        event.kind,
        EventKind::PhaseChanged { to, .. } if to != ServicePhase::Stopping
    );
    if !told_elsewhere {
        println!("{event}");
    }
}

/// The supervisor reports every panic in its events; keep the hook's own output to one line.
fn one_line_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("<non-string payload>");
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("             panic{at}: {message}");
    }));
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = run_seconds()?;
    one_line_panic_hook();
    let supervisor = std::sync::Arc::new(Supervisor::new(
        SupervisorConfig::default()
            .with_name("bot")
            .with_shutdown_timeout(Duration::from_secs(2)),
    ));
    let mut events = supervisor.subscribe();
    let printer = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            print_event(&event);
            if event.kind == EventKind::ShutdownCompleted {
                break;
            }
        }
    });

    let feed_backoff = BackoffConfig::new(Duration::from_millis(200), Duration::from_secs(5))
        .with_jitter(Jitter::Equal);
    let breaker = BackoffConfig::new(Duration::from_millis(100), Duration::from_secs(1))
        .with_circuit_breaker(4, Duration::from_secs(10));
    supervisor.spawn_service_with_options(
        Box::new(MarketFeed),
        SpawnOptions::new().with_backoff(feed_backoff),
    )?;
    supervisor.spawn_service(Box::new(CandlePoller))?;
    supervisor.spawn_service(Box::new(Heartbeat))?;
    supervisor.spawn_service_with_options(
        Box::new(RiskLimitsLoader),
        SpawnOptions::new().with_backoff(breaker),
    )?;
    supervisor.spawn_service(Box::new(OrderRouter))?;

    println!("trading bot supervised for {seconds} s (Ctrl-C to stop early)");
    let timer = tokio::spawn({
        let supervisor = std::sync::Arc::clone(&supervisor);
        async move {
            sleep(Duration::from_secs(seconds)).await;
            println!("--- {seconds} s elapsed: shutting down ---");
            supervisor.trigger_shutdown();
        }
    });

    let report = supervisor.run_until_shutdown().await?;
    timer.abort();
    printer.await?;

    let m = supervisor.metrics().snapshot();
    let ran = |d| CompactDuration(d).to_string();
    println!(
        "\nmetrics: {} spawned, {} restarts, {} terminated, {} circuit breaker trip(s), {} active",
        m.spawned_total,
        m.restarts_total,
        m.terminated_total,
        m.circuit_breaker_trips,
        m.active_services
    );
    println!("\nservices:");
    for s in supervisor.lifecycle_snapshots().await {
        let reason = s
            .termination_reason
            .map_or_else(|| "-".to_owned(), |r| r.to_string());
        println!(
            "  {:<14} starts {:>2}  failures {:>2}  ran {:>6}  ended: {reason}",
            s.name,
            s.start_count,
            s.total_failures,
            ran(s.running_time)
        );
    }
    println!("\n{report}");
    for service in &report.services {
        println!("  {:<14} {}", service.name, service.outcome);
    }
    Ok(())
}
