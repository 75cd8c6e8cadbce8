//! A bot as it runs in production: systemd is told the truth (`READY=1` once started,
//! `WATCHDOG=1` only while healthy, `STOPPING=1`, `STATUS=`), and Kubernetes' probes are
//! served by the host's own HTTP layer (axum here; the library owns none):
//!
//! - `GET /livez`: 200 while every control loop of the tree answers, 503 once it is stuck or
//!   has ended (the orchestrator then restarts the pod);
//! - `GET /readyz`: 200 once every child has started and while the tree is healthy, 503 from
//!   the moment shutdown begins (traffic drains first).
//!
//! `cargo run --example production -- --seconds 5` (default: until SIGTERM / Ctrl-C), with
//! the probes on 127.0.0.1:8080 (`--probes ADDR`). `examples/deploy/` has the systemd unit and
//! the Kubernetes manifest. One process runs one tree; replicas are pods.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use supervisor::prelude::*;
use supervisor::systemd::SystemdNotifier;

async fn probe(result: supervisor::Probe) -> (StatusCode, String) {
    let status = if result.passing {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, format!("{}\n", result.detail))
}

fn probes(tree: SupervisorHandle) -> Router {
    Router::new()
        .route(
            "/livez",
            get(|State(tree): State<SupervisorHandle>| async move {
                probe(tree.liveness().await).await
            }),
        )
        .route(
            "/readyz",
            get(|State(tree): State<SupervisorHandle>| async move {
                probe(tree.readiness().await).await
            }),
        )
        .with_state(tree)
}

fn options() -> Result<(Option<u64>, String), String> {
    let mut args = std::env::args().skip(1);
    let (mut seconds, mut address) = (None, "127.0.0.1:8080".to_owned());
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => {
                let text = value()?;
                seconds = Some(
                    text.parse()
                        .map_err(|_| format!("--seconds: `{text}` is not a number"))?,
                );
            }
            "--probes" => address = value()?,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: production [--seconds N] [--probes ADDR]"
                ));
            }
        }
    }
    Ok((seconds, address))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (seconds, address) = options()?;
    let risk = service_fn("risk_engine", |ctx: TaskContext| async move {
        // Loading limits takes a moment; until then the pod is not ready.
        tokio::time::sleep(Duration::from_millis(500)).await;
        ctx.ready();
        ctx.cancelled().await;
        Ok::<(), ServiceError>(())
    })
    .with_readiness(Readiness::Explicit {
        timeout: Duration::from_secs(10),
    });
    let spec = SupervisorSpec::builder("bot")
        .shutdown_timeout(Duration::from_secs(20))
        .child(service_fn("market_feed", |ctx| async move {
            ctx.cancelled().await
        }))
        .child(risk)
        .child(
            service_fn("order_router", |ctx| async move { ctx.cancelled().await })
                .requires(["risk_engine"]),
        )
        .build()?;
    let tree = Supervisor::start(spec).await?;
    let systemd = SystemdNotifier::start(&tree);
    println!(
        "bot running; systemd notifications {}",
        if systemd.is_active() {
            "on"
        } else {
            "off (no NOTIFY_SOCKET)"
        }
    );
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!(
        "probes on http://{}/livez and /readyz",
        listener.local_addr()?
    );
    let server = tokio::spawn(axum::serve(listener, probes(tree.clone())).into_future());
    if let Some(seconds) = seconds {
        let tree = tree.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            tree.shutdown_tree("timer", "run time elapsed").await;
        });
    }
    let report = tree.run_until_shutdown().await?;
    println!("{report}");
    println!("liveness now: {}", tree.liveness().await);
    server.abort();
    systemd.stop().await;
    Ok(())
}
