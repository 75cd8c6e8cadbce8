//! Restart strategies: the exact stops and starts after a failure, on the paused clock.

mod common;

use std::time::Duration;

use common::*;
use supervisor::error::EscalationReason;
use supervisor::prelude::*;
use supervisor::{CircuitBreakerConfig, EventKind, OnOpen, TerminationReason};

async fn start(spec: SupervisorSpec) -> SupervisorHandle {
    Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap()
}

/// a, b, c declared in that order; b fails 100 ms after it starts.
fn three(strategy: Strategy, journal: &Journal) -> SupervisorSpec {
    SupervisorSpec::builder("bot")
        .strategy(strategy)
        .child(logged("a", journal, None, 0))
        .child(logged("b", journal, Some(100), 0))
        .child(logged("c", journal, None, 0))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn one_for_one_restarts_only_the_failed_child() {
    let journal = Journal::new();
    let tree = start(three(Strategy::OneForOne, &journal)).await;
    run_for(1_000).await;
    assert_eq!(
        journal.lines(),
        [
            "0 start a#1",
            "0 start b#1",
            "0 start c#1",
            "100 stop b",
            "150 start b#2"
        ]
    );
    let state = tree.current_state().await;
    let attempts: Vec<_> = state.iter().map(|c| (c.path.as_str(), c.attempt)).collect();
    assert_eq!(attempts, [("bot/a", 1), ("bot/b", 2), ("bot/c", 1)]);
    assert_eq!(
        state.find("bot/b").unwrap().last_exit.as_deref(),
        Some("failed: b lost its connection")
    );
}

#[tokio::test(start_paused = true)]
async fn one_for_all_stops_the_others_newest_first_then_starts_all_in_order() {
    let journal = Journal::new();
    let tree = start(three(Strategy::OneForAll, &journal)).await;
    let mut events = tree.subscribe();
    run_for(1_000).await;
    assert_eq!(
        journal.lines(),
        [
            "0 start a#1",
            "0 start b#1",
            "0 start c#1",
            "100 stop b",
            "100 stop c",
            "100 stop a",
            "150 start a#2",
            "150 start b#2",
            "150 start c#2",
        ]
    );
    let scope = std::iter::from_fn(|| events.try_recv().ok())
        .find_map(|e| match e.kind {
            EventKind::RestartScope {
                failed, restarting, ..
            } => Some((failed, restarting)),
            _ => None,
        })
        .unwrap();
    assert_eq!(&*scope.0, "bot/b");
    assert_eq!(
        scope.1.iter().map(|p| &**p).collect::<Vec<_>>(),
        ["bot/a", "bot/c"]
    );
    assert_eq!(tree.metrics().snapshot().restarts_total, 3);
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_restarts_the_failed_child_and_those_started_after_it() {
    let journal = Journal::new();
    let _tree = start(three(Strategy::RestForOne, &journal)).await;
    run_for(1_000).await;
    assert_eq!(
        journal.lines(),
        [
            "0 start a#1",
            "0 start b#1",
            "0 start c#1",
            "100 stop b",
            "100 stop c",
            "150 start b#2",
            "150 start c#2",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn children_that_require_a_restarted_child_restart_with_it_under_one_for_one() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .child(logged("router", &journal, None, 0).requires(["feed"]))
        .child(logged("feed", &journal, Some(100), 0))
        .child(logged("poller", &journal, None, 0))
        .build()
        .unwrap();
    let _tree = start(spec).await;
    run_for(1_000).await;
    assert_eq!(
        journal.lines(),
        [
            "0 start feed#1",
            "0 start router#1",
            "0 start poller#1",
            "100 stop feed",
            "100 stop router",
            "150 start feed#2",
            "150 start router#2",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn children_started_after_a_restarted_child_keep_running() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .child(logged("risk", &journal, None, 0).after(["feed"]))
        .child(logged("feed", &journal, Some(100), 0))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    assert_eq!(
        journal.lines(),
        [
            "0 start feed#1",
            "0 start risk#1",
            "100 stop feed",
            "150 start feed#2",
        ]
    );
    let state = tree.current_state().await;
    assert_eq!(state.find("bot/risk").unwrap().attempt, 1);
}

#[tokio::test(start_paused = true)]
async fn a_required_child_that_terminates_for_good_stops_its_dependents_for_good() {
    let journal = Journal::new();
    // The feed gives up (its breaker opens after 2 failures); the router requires it, the
    // fill tracker requires the router, and the risk engine only starts after the feed.
    let feed = service_fn("feed", |_| async {
        Err::<(), _>(ServiceError::from("refused"))
    })
    .with_backoff(plain_backoff(10, 10).with_circuit_breaker(2, Duration::from_secs(60)));
    let spec = SupervisorSpec::builder("bot")
        .child(feed)
        .child(logged("router", &journal, None, 20).requires(["feed"]))
        .child(logged("fills", &journal, None, 0).requires(["router"]))
        .child(logged("risk", &journal, None, 0).after(["feed"]))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    let state = tree.current_state().await;
    let ended: Vec<_> = state
        .iter()
        .map(|c| {
            (
                c.path.as_str(),
                c.phase,
                c.last_exit.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        ended,
        [
            (
                "bot/feed",
                ServicePhase::Terminated,
                "circuit breaker open after 2 failures in its window (limit 2)"
            ),
            (
                "bot/router",
                ServicePhase::Terminated,
                "dependency `feed` terminated"
            ),
            (
                "bot/fills",
                ServicePhase::Terminated,
                "dependency `router` terminated"
            ),
            ("bot/risk", ServicePhase::Running, ""),
        ]
    );
    // The feed's first failure restarts the two bound to it; its second opens the breaker and
    // stops them for good. Each time fills stops before the router it requires (20 ms drain).
    let stops: Vec<String> = journal
        .lines()
        .into_iter()
        .filter(|l| l.contains("stop"))
        .collect();
    assert_eq!(
        stops,
        [
            "0 stop fills",
            "20 stop router",
            "20 stop fills",
            "40 stop router"
        ]
    );
    assert!(!tree.is_shutting_down());
}

#[tokio::test(start_paused = true)]
async fn a_restart_waits_until_every_member_of_the_scope_has_fully_stopped() {
    let journal = Journal::new();
    // c needs 300 ms to drain; b's 50 ms backoff is over long before that.
    let spec = SupervisorSpec::builder("bot")
        .strategy(Strategy::OneForAll)
        .child(logged("b", &journal, Some(100), 0))
        .child(logged("c", &journal, None, 300))
        .build()
        .unwrap();
    let _tree = start(spec).await;
    run_for(1_000).await;
    assert_eq!(
        journal.lines(),
        [
            "0 start b#1",
            "0 start c#1",
            "100 stop b",
            "400 stop c",
            "400 start b#2",
            "400 start c#2",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_child_is_restarted_under_every_strategy() {
    for (strategy, restarted) in [
        (Strategy::OneForOne, vec!["b"]),
        (Strategy::OneForAll, vec!["a", "b", "c"]),
        (Strategy::RestForOne, vec!["b", "c"]),
    ] {
        let journal = Journal::new();
        let log = journal.clone();
        let panicking = service_fn("b", move |ctx: TaskContext| {
            let log = log.clone();
            async move {
                log.log(format!("start b#{}", ctx.attempt()));
                if ctx.attempt() == 1 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    panic!("corrupt order book");
                }
                ctx.cancelled().await;
            }
        })
        .with_backoff(plain_backoff(50, 50));
        let spec = SupervisorSpec::builder("bot")
            .strategy(strategy)
            .child(logged("a", &journal, None, 0))
            .child(panicking)
            .child(logged("c", &journal, None, 0))
            .build()
            .unwrap();
        let tree = start(spec).await;
        run_for(1_000).await;
        let second_starts: Vec<String> = restarted
            .iter()
            .map(|n| format!("150 start {n}#2"))
            .collect();
        let lines = journal.lines();
        assert_eq!(
            lines[lines.len() - restarted.len()..],
            second_starts[..],
            "{strategy}"
        );
        let b = tree.current_state().await.find("bot/b").unwrap().clone();
        assert_eq!(b.last_exit.as_deref(), Some("panicked: corrupt order book"));
        assert_eq!(b.phase, ServicePhase::Running);
        tree.shutdown_tree("test", "done").await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_never_child_in_a_restart_scope_is_stopped_but_not_restarted() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .strategy(Strategy::OneForAll)
        .child(logged("once", &journal, None, 0).with_restart(RestartPolicy::Never))
        .child(logged("b", &journal, Some(100), 0))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    assert_eq!(
        journal.lines(),
        [
            "0 start once#1",
            "0 start b#1",
            "100 stop b",
            "100 stop once",
            "150 start b#2"
        ]
    );
    let once = tree.lifecycle_snapshots().await.remove(0);
    assert_eq!(once.termination_reason, Some(TerminationReason::Cancelled));
}

#[tokio::test(start_paused = true)]
async fn a_circuit_breaker_opening_leaves_the_child_visible_and_the_rest_running() {
    let journal = Journal::new();
    let broken = service_fn("broken", |_| async {
        Err::<(), _>(ServiceError::from("refused"))
    })
    .with_backoff(plain_backoff(10, 10).with_circuit_breaker(3, Duration::from_secs(60)));
    let spec = SupervisorSpec::builder("bot")
        .child(logged("a", &journal, None, 0))
        .child(broken)
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    let state = tree.current_state().await;
    let broken = state.find("bot/broken").unwrap();
    assert_eq!(
        (broken.phase, broken.attempt),
        (ServicePhase::Terminated, 3)
    );
    assert_eq!(
        broken.last_exit.as_deref(),
        Some("circuit breaker open after 3 failures in its window (limit 3)")
    );
    assert_eq!(state.find("bot/a").unwrap().phase, ServicePhase::Running);
}

#[tokio::test(start_paused = true)]
async fn overlapping_restarts_merge_and_wait_for_the_later_delay() {
    let journal = Journal::new();
    // c fails first (1 s backoff); b fails while c waits, and rest-for-one takes c along.
    let spec = SupervisorSpec::builder("bot")
        .strategy(Strategy::RestForOne)
        .child(logged("b", &journal, Some(200), 0))
        .child(logged("c", &journal, Some(100), 0).with_backoff(plain_backoff(1_000, 1_000)))
        .build()
        .unwrap();
    let _tree = start(spec).await;
    run_for(2_000).await;
    assert_eq!(
        journal.lines(),
        [
            "0 start b#1",
            "0 start c#1",
            "100 stop c",
            "200 stop b",
            "1100 start b#2",
            "1100 start c#2",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_breaker_that_escalates_fails_its_supervisor() {
    let journal = Journal::new();
    let breaker =
        CircuitBreakerConfig::new(2, Duration::from_secs(60)).with_on_open(OnOpen::Escalate);
    let feed = service_fn("feed", |_| async {
        Err::<(), _>(ServiceError::from("refused"))
    })
    .with_backoff(plain_backoff(10, 10).with_circuit_breaker_config(breaker));
    let execution = SupervisorSpec::builder("execution")
        .without_intensity_limit()
        .child(feed)
        .child(logged("router", &journal, None, 0))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        .intensity(1, Duration::from_secs(60))
        .child(ChildSpec::supervisor(execution).with_backoff(plain_backoff(100, 100)))
        .build()
        .unwrap();
    let tree = start(spec).await;
    // Each run of `execution` ends when the feed's breaker opens; the second failure of
    // `execution` exceeds the root's intensity.
    match tree.run_until_shutdown().await {
        Err(supervisor::error::SupervisorError::Escalated(escalation)) => {
            assert_eq!(escalation.child, "bot/execution");
            assert_eq!(escalation.reason, EscalationReason::IntensityExceeded);
            assert!(
                escalation
                    .cause
                    .contains("circuit breaker of `bot/execution/feed` opened"),
                "{escalation}"
            );
        }
        other => panic!("expected an escalation, got {other:?}"),
    }
    assert_eq!(
        journal.lines(),
        [
            "0 start router#1",
            "10 stop router",
            "110 start router#1",
            "120 stop router"
        ]
    );
}
