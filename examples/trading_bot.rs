//! The main job: a simulated trading bot under supervision, declared with the DSL.
//!
//! A flaky market feed is restarted with growing backoff (and the order router that depends on
//! it restarts with it), a candle poller that panics on bad data is restarted, a heartbeat just
//! runs, a broken risk-limit loader trips its circuit breaker. A strategy sends orders into a
//! tree-owned, at-least-once mailbox: an order the router held when the feed's failure
//! restarted it comes back to the next attempt, and on shutdown the strategy stops first, then
//! the router places every order left before the feed it depends on stops. The report shows
//! that no order was lost.
//!
//! `cargo run --example trading_bot` (about 10 s; `-- --seconds N` to change; Ctrl-C stops it
//! early, a second Ctrl-C aborts the drain).

use std::time::Duration;

use supervisor::ipc::IpcServer;
use supervisor::mailbox::{AckInbox, Outbox};
use supervisor::prelude::*;
use supervisor::{CompactDuration, EventKind, LifecycleEvent};
use supervisor_dashboard::{Dashboard, DashboardFile, TargetSettings};
use tokio::time::{interval, sleep};

/// Drops its exchange connection on its first three attempts, then streams quotes.
#[service(
    name = "market_feed",
    restart = "on_failure",
    backoff(base = "200ms", max = "5s", jitter = "equal"),
    heartbeat(stale_after = "2s")
)]
async fn market_feed(ctx: TaskContext) -> std::io::Result<()> {
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
                    ));
                }
            }
        }
    }
}

/// Polls candles every 400 ms and panics on the empty page every attempt meets.
#[service(restart = "always")]
async fn candle_poller(ctx: TaskContext) {
    let mut polls = interval(Duration::from_millis(400));
    let mut candles: Vec<f64> = Vec::new();
    loop {
        tokio::select! {
            _ = ctx.cancelled() => return,
            _ = polls.tick() => {
                // The exchange sends an empty page now and then.
                let page: Vec<f64> = if candles.len() == 5 { vec![] } else { vec![101.5] };
                candles.push(page[0]); // panics on the empty page
            }
        }
    }
}

/// Reports liveness every second.
#[service(restart = "always")]
async fn heartbeat(ctx: TaskContext) {
    let mut beats = interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = ctx.cancelled() => return,
            _ = beats.tick() => ctx.heartbeat(),
        }
    }
}

/// Cannot reach the risk database: fails every attempt until its breaker opens.
#[service(
    backoff(base = "100ms", max = "1s"),
    circuit_breaker(max_failures = 4, within = "10s")
)]
async fn risk_limits(_ctx: TaskContext) -> Result<(), ServiceError> {
    sleep(Duration::from_millis(50)).await;
    Err(ServiceError::from(
        "risk database unreachable: connection refused",
    ))
}

/// An order for the exchange.
#[derive(Debug)]
struct Order {
    id: u32,
    quantity: u32,
}

/// Sends an order every 300 ms, until it is stopped; an order it could not send comes back.
#[service(restart = "on_failure")]
async fn strategy(ctx: TaskContext, orders: Outbox<Order>) -> anyhow::Result<()> {
    let mut signals = interval(Duration::from_millis(300));
    for id in 1.. {
        tokio::select! {
            _ = ctx.cancelled() => break,
            _ = signals.tick() => {}
        }
        let order = Order {
            id,
            quantity: id % 5 + 1,
        };
        if let Err(refused) = orders.send_with(&ctx, order).await {
            let order = refused.into_message();
            println!(
                "             strategy: order #{} not sent ({} lots), kept for the next session",
                order.id, order.quantity
            );
            break;
        }
    }
    Ok(())
}

/// Places each order (150 ms at the exchange), then acknowledges it. Restarted with the feed
/// while placing, it gives the order back unacknowledged; the next attempt gets it again and
/// checks with the exchange before placing it twice. At shutdown it places every order left.
#[service(shutdown(timeout = "2s"))]
async fn order_router(ctx: TaskContext, orders: &mut AckInbox<Order>) -> anyhow::Result<()> {
    while let Some(order) = orders.recv().await {
        if order.deliveries() > 1 {
            println!(
                "             order_router: order #{} again (delivery {}): checking the exchange by its client id first",
                order.id,
                order.deliveries()
            );
        }
        tokio::select! {
            // Restarted with the feed: the order in hand goes back to the front.
            _ = ctx.cancelled() => return Ok(()),
            _ = sleep(Duration::from_millis(150)) => {}
        }
        order.ack();
    }
    // `None`: the tree is shutting down and every order sent was received.
    println!("             order_router: every order placed");
    Ok(())
}

/// `--seconds N` (10 by default; with `--dashboard`, until Ctrl-C) and `--dashboard`.
fn options() -> Result<(Option<u64>, bool), String> {
    let mut args = std::env::args().skip(1);
    let (mut seconds, mut dashboard) = (None, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().ok_or("--seconds needs a number")?;
                seconds = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--seconds needs a whole number, not `{value}`"))?,
                );
            }
            "--dashboard" => dashboard = true,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: trading_bot [--seconds N] [--dashboard]"
                ));
            }
        }
    }
    let seconds = match (seconds, dashboard) {
        (Some(seconds), _) => Some(seconds),
        (None, false) => Some(10),
        (None, true) => None,
    };
    Ok((seconds, dashboard))
}

/// The tree's control socket and the dashboard watching it, in this process: the page on
/// 127.0.0.1 (port 7070, or another if that one is taken), with commands enabled, as for an
/// operator on this machine.
async fn start_dashboard(
    tree: &SupervisorHandle,
) -> Result<(IpcServer, Dashboard), Box<dyn std::error::Error>> {
    let socket = std::env::temp_dir().join(format!("trading_bot-{}.sock", std::process::id()));
    let server = IpcServer::start(tree, &socket)?;
    let mut file = DashboardFile {
        targets: vec![socket],
        control: true,
        ..DashboardFile::default()
    };
    let dashboard = match Dashboard::start(file.check(|_| None)?, TargetSettings::default()).await {
        Ok(dashboard) => dashboard,
        Err(_) => {
            file.listen = Some("127.0.0.1:0".to_owned());
            Dashboard::start(file.check(|_| None)?, TargetSettings::default()).await?
        }
    };
    Ok((server, dashboard))
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
    let (seconds, with_dashboard) = options()?;
    one_line_panic_hook();
    let tree = supervisor! {
        name = "bot",
        intensity(max_restarts = 50, within = "60s"),
        shutdown_timeout = "2s",
        // Owned by the tree: queued orders survive the router's restarts, and one it held
        // comes back until acknowledged (up to 3 deliveries, below its breaker's 10 failures).
        mailbox orders: Order(capacity = 64, delivery = "at_least_once", max_deliveries = 3),
        market_feed(),
        // Ordering only: polls once the feed runs, keeps polling while the feed reconnects.
        candle_poller() after(market_feed),
        heartbeat(),
        risk_limits(),
        strategy(orders.sender()) after(market_feed),
        // Bound: cannot route without the feed, so it restarts with it (and would stop for
        // good if the feed did). At shutdown it stops after the strategy, which sends to it.
        order_router(orders.inbox()) requires(market_feed),
    };
    match seconds {
        Some(seconds) => println!("trading bot supervised for {seconds} s (Ctrl-C to stop early)"),
        None => println!("trading bot supervised until Ctrl-C"),
    }
    println!("startup order: {}", tree.startup_order().join(", "));
    let (tree, mut events) = tree.start_with_events(SupervisorConfig::default()).await?;
    let printer = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            print_event(&event);
            if event.kind == EventKind::ShutdownCompleted && &*event.path == "bot" {
                break;
            }
        }
    });
    let dashboard = if with_dashboard {
        let (server, dashboard) = start_dashboard(&tree).await?;
        println!(
            "dashboard at {} (control socket {}; commands enabled)",
            dashboard.url(),
            server.path().display()
        );
        Some((server, dashboard))
    } else {
        None
    };
    let timer = tokio::spawn({
        let tree = tree.clone();
        async move {
            let Some(seconds) = seconds else {
                return;
            };
            sleep(Duration::from_secs(seconds)).await;
            println!("--- {seconds} s elapsed: shutting down ---");
            tree.shutdown_tree("timer", "run time elapsed").await;
        }
    });

    let report = tree.run_until_shutdown().await?;
    timer.abort();
    printer.await?;
    if let Some((server, dashboard)) = dashboard {
        server.stop().await;
        dashboard.stop().await;
    }

    let m = tree.metrics().snapshot();
    println!(
        "\nmetrics: {} spawned, {} restarts, {} terminated, {} circuit breaker trip(s), {} active",
        m.spawned_total,
        m.restarts_total,
        m.terminated_total,
        m.circuit_breaker_trips,
        m.active_services
    );
    println!("\nservices:");
    for s in tree.lifecycle_snapshots().await {
        let reason = s
            .termination_reason
            .map_or_else(|| "-".to_owned(), |r| r.to_string());
        println!(
            "  {:<14} starts {:>2}  failures {:>2}  ran {:>6}  ended: {reason}",
            s.name,
            s.start_count,
            s.total_failures,
            CompactDuration(s.running_time).to_string()
        );
    }
    println!(
        "\n{report} (requested by {}: {})",
        report.requested_by, report.reason
    );
    for service in &report.services {
        println!("  {:<14} {}", service.name, service.outcome);
    }
    for mailbox in &report.mailboxes {
        let lost = mailbox.sent - mailbox.acked - mailbox.rejected;
        if lost == 0 {
            println!(
                "  mailbox {}: {} orders sent, all placed: no order lost",
                mailbox.name, mailbox.sent
            );
        } else {
            println!(
                "  mailbox {}: {} of {} orders not placed ({} dead-lettered, {} undelivered, {} in doubt)",
                mailbox.name,
                lost,
                mailbox.sent,
                mailbox.dead_lettered,
                mailbox.queued,
                mailbox.in_doubt
            );
        }
    }
    Ok(())
}
