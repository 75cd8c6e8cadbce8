//! A tree declared in code, its policy tuned by an operator's YAML file
//! (`examples/config/bot.yaml`, feature `config`).
//!
//! It prints the effective configuration (every value and where it came from: default, code
//! or the file's line), then runs the tree: the market feed fails on every attempt, and the
//! file's backoff (50 ms doubling to 400 ms) and circuit breaker (3 failures) take over from
//! the code's. Then it shuts down.
//!
//! `cargo run --example config_tree` (about 2 s), or
//! `cargo run --example config_tree -- --print-effective-config [FILE]` to print and exit.

use std::time::Duration;

use supervisor::EventKind;
use supervisor::config::TreeConfig;
use supervisor::prelude::*;
use tokio::time::sleep;

/// In code: a patient backoff and a generous breaker.
#[service(
    backoff(base = "1s", max = "30s"),
    circuit_breaker(max_failures = 10, within = "60s")
)]
async fn market_feed(_ctx: TaskContext) -> std::io::Result<()> {
    sleep(Duration::from_millis(20)).await;
    Err(std::io::Error::other("venue refused the session"))
}

#[service]
async fn risk_engine(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service(shutdown(timeout = "5s"))]
async fn order_router(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let print_only = args.iter().any(|a| a == "--print-effective-config");
    let path = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config/bot.yaml").to_owned()
        });

    let tree = supervisor! {
        name = "bot",
        market_feed(),
        risk_engine() after(market_feed),
        supervisor execution(strategy = "rest_for_one") {
            order_router(),
        },
    };
    // Every problem of the file and of its fit to the tree at once, each at its line and
    // column; nothing runs then.
    let configured = match TreeConfig::load_for(&path, tree.into_spec()?) {
        Ok(configured) => configured,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    println!(
        "effective configuration ({path}):\n\n{}",
        configured.effective
    );
    if print_only {
        return Ok(());
    }

    let config = configured.supervisor_config(SupervisorConfig::default().without_signal_handler());
    let (tree, mut events) = Supervisor::start_with_events(configured.spec, config).await?;
    let printer = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            if matches!(
                event.kind,
                EventKind::BackingOff { .. } | EventKind::Terminated(_)
            ) {
                println!("{event}");
            }
            if event.kind == EventKind::ShutdownCompleted && &*event.path == "bot" {
                break;
            }
        }
    });
    sleep(Duration::from_millis(1_500)).await;
    let state = tree.current_state().await;
    let feed = state.find("bot/market_feed").ok_or("no market feed")?;
    println!(
        "\nmarket feed after {} attempts: {:?} ({})",
        feed.attempt,
        feed.phase,
        feed.last_exit.as_deref().unwrap_or("-")
    );
    let report = tree.shutdown_tree("config_tree", "done").await;
    printer.await?;
    println!("\n{report}");
    Ok(())
}
