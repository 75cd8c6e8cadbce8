//! `#[service]`: the generated spec equals the hand-built one, and it runs.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use supervisor::prelude::*;
use supervisor::{ChildKind, TerminationReason, service};

#[derive(Clone, Debug, PartialEq)]
struct Venue(&'static str);

#[service(
    name = "market-feed",
    restart = "transient",
    backoff(base = "100ms", max = "30s", jitter = "equal", reset_after = "5m"),
    circuit_breaker(max_failures = 5, within = "1.5m"),
    shutdown(timeout = "5s"),
    readiness = "explicit",
    startup_timeout = "10s",
    heartbeat(stale_after = "3s"),
    significant,
    tags("market", "critical")
)]
async fn market_feed(ctx: TaskContext, venue: Venue, symbols: Vec<String>) -> anyhow::Result<()> {
    ctx.ready();
    ctx.cancelled().await;
    let _ = (venue, symbols);
    Ok(())
}

#[service(restart = "always", circuit_breaker = false, shutdown = "brutal_kill")]
async fn poller(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service(restart = "never")]
async fn flaky(ctx: TaskContext) -> Result<(), std::io::Error> {
    let _ = ctx;
    Err(std::io::Error::other("exchange down"))
}

#[service]
async fn fatal(_ctx: TaskContext) -> Result<(), ServiceError> {
    Err(ServiceError::fatal("bad key"))
}

#[service(blocking, restart = "always")]
fn replay_archive(ctx: TaskContext) -> std::io::Result<()> {
    while !ctx.is_cancelled() {
        std::thread::yield_now();
    }
    Ok(())
}

fn hand_built_feed() -> ChildSpec {
    let backoff = BackoffConfig::new(Duration::from_millis(100), Duration::from_secs(30))
        .with_jitter(Jitter::Equal)
        .with_cooldown(Duration::from_secs(300))
        .with_circuit_breaker(5, Duration::from_secs(90));
    service_fn("market-feed", |ctx: TaskContext| async move {
        ctx.cancelled().await
    })
    .with_restart(RestartPolicy::OnFailure)
    .with_backoff(backoff)
    .with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(5)))
    .with_readiness(Readiness::Explicit {
        timeout: Duration::from_secs(10),
    })
    .with_heartbeat_timeout(Duration::from_secs(3))
    .significant(true)
    .with_tag("market")
    .with_tag("critical")
}

#[test]
fn the_generated_spec_equals_the_hand_built_one() {
    let generated = market_feed::spec(Venue("binance"), vec!["BTCUSDT".into()]);
    assert_eq!(generated, hand_built_feed());
    assert_eq!(market_feed::NAME, "market-feed");
    let poller = poller::spec();
    let expected = service_fn("poller", |_| async {})
        .with_restart(RestartPolicy::Always)
        .with_backoff(BackoffConfig::default().without_circuit_breaker())
        .with_shutdown(ShutdownPolicy::BrutalKill);
    assert_eq!(poller, expected);
    assert_eq!(replay_archive::spec().kind(), ChildKind::Blocking);
}

#[tokio::test(start_paused = true)]
async fn generated_services_run_under_a_tree() {
    let spec = SupervisorSpec::builder("bot")
        .child(market_feed::spec(Venue("binance"), vec![]).significant(false))
        .child(poller::spec())
        .child(flaky::spec())
        .child(fatal::spec())
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    run_for(10).await;
    let snapshots = tree.lifecycle_snapshots().await;
    let phases: Vec<_> = snapshots
        .iter()
        .map(|s| (s.name.as_str(), s.phase))
        .collect();
    assert_eq!(
        phases,
        [
            ("market-feed", ServicePhase::Running),
            ("poller", ServicePhase::Running),
            ("flaky", ServicePhase::Terminated),
            ("fatal", ServicePhase::Terminated),
        ]
    );
    assert_eq!(snapshots[2].last_error.as_deref(), Some("exchange down"));
    assert!(matches!(
        &snapshots[3].termination_reason,
        Some(TerminationReason::Failed(f)) if f.message == "bad key"
    ));
    let report = tree.shutdown_tree("test", "done").await;
    // The poller's shutdown is brutal_kill.
    assert_eq!(report.count(StopOutcome::Graceful), 1);
    assert_eq!(report.count(StopOutcome::Aborted), 1);
}

// Not on the paused clock: a running blocking worker holds it, and nothing here waits on time.
#[tokio::test]
async fn a_generated_blocking_service_runs_on_the_blocking_pool_and_stops_cooperatively() {
    let spec = SupervisorSpec::builder("bot")
        .child(replay_archive::spec())
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    let state = tree.current_state().await;
    assert_eq!(
        state.find("bot/replay_archive").unwrap().phase,
        ServicePhase::Running
    );
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(report.count(StopOutcome::Graceful), 1);
}

#[tokio::test(start_paused = true)]
async fn the_generated_trading_service_works_with_the_imperative_front_door() {
    let sup = Supervisor::new(test_config());
    sup.spawn_service(Box::new(poller::Service)).unwrap();
    run_for(10).await;
    let poller = sup.service_lifecycle("poller").await.unwrap();
    assert_eq!(
        (poller.phase, poller.restart_policy),
        (ServicePhase::Running, RestartPolicy::Always)
    );
}

#[tokio::test]
async fn the_function_stays_callable_as_written() {
    let err = flaky(TaskContext::detached("flaky")).await.unwrap_err();
    assert_eq!(err.to_string(), "exchange down");
}

#[service(shutdown(timeout = "8760h"))]
async fn longest(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[test]
fn the_macros_longest_duration_is_the_runtimes_bound() {
    // "8761h" is a compile error (ui-tests/service/duration_too_long.rs).
    assert_eq!(
        longest::spec().shutdown(),
        Some(ShutdownPolicy::Timeout(supervisor::MAX_DURATION))
    );
}

#[service(circuit_breaker(max_failures = 10000, within = "1h"))]
async fn most_failures(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[test]
fn the_macros_largest_count_is_the_runtimes_bound() {
    // 10001 is a compile error (ui-tests/service/zero_max_failures.rs covers the other end).
    let breaker = most_failures::spec().backoff().circuit_breaker().unwrap();
    assert_eq!(breaker.max_failures, supervisor::MAX_FAILURE_COUNT);
}

#[tokio::test(start_paused = true)]
async fn a_service_declared_inside_a_test_runs_with_its_arguments() {
    // Both the argument type and the service live in this body only.
    #[derive(Clone)]
    struct Counter(Arc<AtomicU32>);

    #[service(restart = "always", backoff(base = "1s", max = "1s", jitter = "none"))]
    async fn ticker(ctx: TaskContext, counter: Counter) {
        counter.0.fetch_add(1, Ordering::SeqCst);
        let _ = ctx;
    }

    let runs = Arc::new(AtomicU32::new(0));
    let tree = supervisor! { name = "local", ticker(Counter(runs.clone())) }
        .start_with_config(test_config())
        .await
        .unwrap();
    run_for(3_500).await;
    // The first run at 0 s, then one after each 1 s of backoff: at 0, 1, 2 and 3 s.
    assert_eq!(runs.load(Ordering::SeqCst), 4);
    let _ = tree.shutdown_tree("test", "done").await;
}
