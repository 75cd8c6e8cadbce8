//! The test kit (feature `testing`) on trees written with the builder and with the macros.

mod common;

use std::time::Duration;

use common::idle;

use supervisor::expect_events;
use supervisor::prelude::*;
use supervisor::testing::{EventPattern::*, TestKit};

#[tokio::test(start_paused = true)]
async fn a_panic_injected_at_once_restarts_the_child() {
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .build()
        .unwrap();
    let mut kit = TestKit::start(spec).await.unwrap();
    kit.panic("bot/feed", "bad frame");
    expect_events!(kit, [
        "bot/feed" => Started { attempt: 1 },
        "bot/feed" => Panicked,
        "bot/feed" => Restarted { attempt: 2 },
    ]);
    kit.shutdown().await;
}

#[service(
    restart = "on_failure",
    backoff(base = "1s", max = "1s", jitter = "none"),
    heartbeat(stale_after = "2s")
)]
async fn market_feed(ctx: TaskContext) -> anyhow::Result<()> {
    loop {
        ctx.heartbeat();
        tokio::select! {
            _ = ctx.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

#[service(shutdown(timeout = "1s"))]
async fn order_router(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[tokio::test(start_paused = true)]
async fn a_hung_macro_service_misses_its_heartbeat_and_is_restarted() {
    let tree = supervisor! {
        name = "bot",
        market_feed(),
        order_router() requires(market_feed),
    };
    let mut kit = TestKit::start(tree.into_spec().unwrap()).await.unwrap();
    kit.expect("bot/market_feed", Started { attempt: 1 }).await;
    kit.advance(Duration::from_secs(3)).await;
    let hung_at = tokio::time::Instant::now();
    kit.hang("bot/market_feed");
    // Silent for its 2 s limit: timed out (a missed deadline aborts the attempt), and
    // restarted after its 1 s backoff, then the router bound to it.
    let failed = kit.expect("bot/market_feed", Failed).await;
    assert!(failed.to_string().contains("heartbeat"), "{failed}");
    expect_events!(kit, [
        "bot/market_feed" => Restarted { attempt: 2 },
        "bot/order_router" => Restarted { attempt: 2 },
    ]);
    // The last heartbeat was at 2.5 s; stale at 4.5 s, restarted at 5.5 s.
    assert_eq!(hung_at.elapsed(), Duration::from_millis(2_500));
    let state = kit.tree().current_state().await;
    assert_eq!(state.find("bot/market_feed").unwrap().stats.timeouts, 1);
    kit.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_exit_ends_a_transient_child_and_a_slow_stop_is_aborted_at_its_limit() {
    let spec = SupervisorSpec::builder("bot")
        .child(idle("job").with_restart(RestartPolicy::OnFailure))
        .child(idle("router").with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(1))))
        .build()
        .unwrap();
    let mut kit = TestKit::start(spec).await.unwrap();
    kit.exit("bot/job");
    kit.expect("bot/job", Terminated).await;
    assert_eq!(
        kit.tree()
            .current_state()
            .await
            .find("bot/job")
            .unwrap()
            .phase,
        ServicePhase::Terminated
    );
    kit.slow_stop("bot/router", Duration::from_secs(5));
    let report = kit.shutdown().await;
    let router = report
        .services
        .iter()
        .find(|s| s.path == "bot/router")
        .unwrap();
    assert_eq!(router.outcome, StopOutcome::Aborted);
    assert_eq!(report.duration, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_slow_stop_within_its_limit_is_graceful_and_takes_that_long() {
    let spec = SupervisorSpec::builder("bot")
        .child(idle("router").with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(5))))
        .build()
        .unwrap();
    let mut kit = TestKit::start(spec).await.unwrap();
    kit.expect("bot/router", Started { attempt: 1 }).await;
    kit.slow_stop("bot/router", Duration::from_millis(1_500));
    let report = kit.shutdown().await;
    assert_eq!(report.services[0].outcome, StopOutcome::Graceful);
    assert_eq!(report.duration, Duration::from_millis(1_500));
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "expected bot/feed Restarted { attempt: 3 } within 5s; matched 1 of")]
async fn a_missed_expectation_lists_what_happened_instead() {
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .build()
        .unwrap();
    let mut kit = TestKit::start(spec)
        .await
        .unwrap()
        .with_patience(Duration::from_secs(5));
    kit.fail("bot/feed", "reset");
    expect_events!(kit, [
        "bot/feed" => Restarted { attempt: 2 },
        "bot/feed" => Restarted { attempt: 3 },
    ]);
}

#[tokio::test(start_paused = true)]
async fn faults_reach_async_children_of_nested_supervisors_and_added_children() {
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(1)
        .nested(
            SupervisorSpec::builder("feeds").child(idle("binance")),
            |feeds| feeds,
        )
        .build()
        .unwrap();
    let mut kit = TestKit::start(spec).await.unwrap();
    kit.fail("bot/feeds/binance", "reset");
    kit.expect("bot/feeds/binance", Restarted { attempt: 2 })
        .await;
    kit.tree()
        .add_child("bot", idle("kraken"), "test", "added")
        .await
        .unwrap();
    kit.panic("bot/kraken", "bad frame");
    expect_events!(kit, [
        "bot/kraken" => Panicked,
        "bot/kraken" => Restarted { attempt: 2 },
    ]);
    // The nested supervisor itself did not restart.
    let state = kit.tree().current_state().await;
    assert_eq!(state.find("bot/feeds").unwrap().stats.restarts, 0);
    kit.shutdown().await;
}

#[tokio::test(start_paused = true)]
#[should_panic(
    expected = "cannot inject a fault into `bot/market_fed`: no async child there; \
                           did you mean `bot/market_feed`?"
)]
async fn a_fault_for_a_misspelt_path_is_refused_with_the_closest_path() {
    let spec = SupervisorSpec::builder("bot")
        .child(idle("market_feed"))
        .build()
        .unwrap();
    let kit = TestKit::start(spec).await.unwrap();
    kit.fail("bot/market_fed", "reset");
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "cannot inject a fault into `bot/ledger`: it is a blocking worker")]
async fn a_fault_for_a_blocking_worker_is_refused() {
    let spec = SupervisorSpec::builder("bot")
        // Still running when the test panics: the runtime's drop cancels it.
        .child(blocking_fn("ledger", |ctx: TaskContext| {
            while !ctx.is_cancelled() {
                std::thread::park_timeout(Duration::from_millis(5));
            }
        }))
        .build()
        .unwrap();
    let kit = TestKit::start(spec).await.unwrap();
    kit.exit("bot/ledger");
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "cannot inject a fault into `bot/feeds`: it is a supervisor")]
async fn a_fault_for_a_supervisor_is_refused() {
    let spec = SupervisorSpec::builder("bot")
        .nested(
            SupervisorSpec::builder("feeds").child(idle("binance")),
            |f| f,
        )
        .build()
        .unwrap();
    let kit = TestKit::start(spec).await.unwrap();
    kit.hang("bot/feeds");
}
