//! Per-child counters in metrics and state, and health for probes. On the paused clock.

mod common;

use std::time::Duration;

use common::*;
use supervisor::prelude::*;
use supervisor::testing::{EventPattern, TestKit};
use supervisor::{ChildStats, HealthStatus};

#[tokio::test(start_paused = true)]
async fn every_child_has_counters_from_its_start() {
    let idle = |name| {
        service_fn(
            name,
            |ctx: TaskContext| async move { ctx.cancelled().await },
        )
    };
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed").with_backoff(plain_backoff(100, 100)))
        .child(idle("risk"))
        .build()
        .unwrap();
    // The feed fails at once, and its second attempt panics as soon as it starts (100 ms).
    let mut kit = TestKit::start_with_config(spec, test_config())
        .await
        .unwrap();
    kit.fail("bot/feed", "reset");
    kit.expect("bot/feed", EventPattern::Restarted { attempt: 2 })
        .await;
    kit.panic("bot/feed", "bad frame");
    run_for(1_100).await;
    let tree = kit.tree();
    let metrics = tree.metrics().snapshot();
    let by_path: Vec<(&str, ChildStats)> = metrics
        .children
        .iter()
        .map(|c| (c.path.as_str(), c.stats))
        .collect();
    assert_eq!(
        by_path,
        [
            (
                "bot/feed",
                ChildStats {
                    restarts: 2,
                    errors: 1,
                    panics: 1,
                    timeouts: 0,
                    breaker_trips: 0,
                    // Running from 200 ms on (two failures, 100 ms backoff each).
                    uptime: Duration::from_millis(1_000),
                }
            ),
            (
                "bot/risk",
                ChildStats {
                    uptime: Duration::from_millis(1_200),
                    ..ChildStats::default()
                }
            ),
        ]
    );
    let text = metrics.to_string();
    assert!(
        text.contains("bot/feed: 2 restarts, failures 2 (error 1, panic 1, timeout 0), 0 breaker trips, up 1.00s"),
        "{text}"
    );
    // The same counters come with the state.
    let state = tree.current_state().await;
    assert_eq!(state.find("bot/feed").unwrap().stats.restarts, 2);
}

#[tokio::test(start_paused = true)]
async fn health_names_what_is_wrong_and_readiness_ends_with_shutdown() {
    let journal = Journal::new();
    let slow_ready = service_fn("feed", |ctx: TaskContext| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ctx.ready();
        ctx.cancelled().await;
        // Takes a while to stop.
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok::<(), ServiceError>(())
    })
    .with_readiness(Readiness::Explicit {
        timeout: Duration::from_secs(10),
    });
    let job = service_fn("job", |_| async {
        Err::<(), _>(ServiceError::fatal("bad config"))
    });
    let spec = SupervisorSpec::builder("bot")
        .child(slow_ready)
        .child(job)
        .child(logged("risk", &journal, None, 0))
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    run_for(50).await;
    let health = tree.health().await;
    assert!(!health.healthy && !health.ready);
    assert_eq!(
        health.problems,
        [
            ("bot/feed".to_owned(), HealthStatus::NotReady),
            (
                "bot/job".to_owned(),
                HealthStatus::Terminated("failed: fatal: bad config".into())
            )
        ]
    );
    run_for(100).await;
    // The feed is ready; the job still counts until an operator sets it aside.
    assert_eq!(tree.health().await.problems.len(), 1);
    tree.quarantine_child("bot/job", "ops", "known bad")
        .await
        .unwrap();
    let health = tree.health().await;
    assert!(health.healthy && health.ready, "{health:?}");
    let stopping = tree.clone();
    let drain = tokio::spawn(async move { stopping.shutdown_tree("ops", "deploy").await });
    run_for(10).await;
    let health = tree.health().await;
    assert!(health.healthy && !health.ready, "{health:?}");
    drain.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_run_summary_counts_failures_escalations_and_shutdown_outcomes() {
    let router = service_fn("router", |_| async {
        Err::<(), _>(ServiceError::from("rejected"))
    })
    .with_backoff(plain_backoff(10, 10));
    let execution = SupervisorSpec::builder("execution")
        .intensity(2, Duration::from_secs(60))
        .child(router);
    let spec = SupervisorSpec::builder("bot")
        .without_intensity_limit()
        .child(service_fn("feed", |ctx: TaskContext| async move {
            ctx.cancelled().await
        }))
        .nested(execution, |child| {
            child.with_backoff(plain_backoff(1_000, 1_000))
        })
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    // The router fails 3 times in 20 ms: `execution` gives up; restarted after 1 s, again.
    run_for(1_500).await;
    let summary = tree.run_summary().await;
    assert!(!summary.ended);
    let execution = summary
        .children
        .iter()
        .find(|c| c.path == "bot/execution")
        .unwrap();
    assert_eq!(execution.escalations, 2);
    assert_eq!(execution.stats.restarts, 1);
    assert_eq!(summary.escalations.len(), 2);
    assert_eq!(summary.escalations[0].child, "bot/execution/router");
    let router = summary
        .children
        .iter()
        .find(|c| c.path == "bot/execution/router")
        .unwrap();
    assert_eq!(router.last_failure.as_deref(), Some("rejected"));
    tree.shutdown_tree("ops", "done").await;
    let summary = tree.run_summary().await;
    assert!(summary.ended);
    let feed = summary
        .children
        .iter()
        .find(|c| c.path == "bot/feed")
        .unwrap();
    assert_eq!(feed.shutdown, Some(StopOutcome::Graceful));
    assert_eq!(feed.stats.uptime, Duration::from_millis(1_500));
    let table = summary.to_string();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("bot/feed ") && l.ends_with("  -")),
        "{table}"
    );
    assert!(table.contains("escalation: "), "{table}");
}

/// What an operator's view needs of each child: the countdown to a restart, the breaker and
/// the supervisors' intensity in use, the dependency edges, the heartbeat's age, the policy.
#[tokio::test(start_paused = true)]
async fn the_state_shows_countdowns_budgets_edges_and_policies() {
    let feed = service_fn("feed", |_| async {
        Err::<(), _>(ServiceError::from("reset"))
    })
    .with_backoff(plain_backoff(1_000, 1_000).with_circuit_breaker(5, Duration::from_secs(60)));
    let venues = SupervisorSpec::builder("venues")
        .intensity(4, Duration::from_secs(30))
        .child(feed)
        .build()
        .unwrap();
    let db = service_fn("db", |ctx: TaskContext| async move {
        loop {
            ctx.heartbeat();
            tokio::select! {
                _ = ctx.cancelled() => return Ok::<(), ServiceError>(()),
                _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            }
        }
    })
    .with_heartbeat_timeout(Duration::from_secs(2));
    let router = service_fn("router", |ctx: TaskContext| async move {
        ctx.cancelled().await;
        Ok::<(), ServiceError>(())
    })
    .after(["db"])
    .requires(["db"]);
    let spec = SupervisorSpec::builder("bot")
        .intensity(10, Duration::from_secs(60))
        .child(ChildSpec::supervisor(venues))
        .child(db)
        .child(router)
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    // The feed failed at 0, 1 s and 2 s; at 2.45 s it waits for its fourth attempt, due at 3 s.
    run_for(2_450).await;
    let state = tree.current_state().await;
    let feed = state.find("bot/venues/feed").unwrap();
    assert_eq!(feed.phase, ServicePhase::BackingOff);
    assert_eq!(feed.restart_in, Some(Duration::from_millis(550)));
    assert_eq!(feed.breaker_failures, 3);
    assert_eq!(feed.backoff.circuit_breaker().unwrap().max_failures, 5);
    let venues = state.find("bot/venues").unwrap();
    let intensity = venues.intensity.unwrap();
    assert_eq!((intensity.restarts, intensity.max_restarts), (3, 4));
    assert_eq!(intensity.to_string(), "3/4 in 30s");
    // The root restarted nothing itself.
    assert_eq!(state.intensity.unwrap().to_string(), "0/10 in 1m");
    let db = state.find("bot/db").unwrap();
    // Beats at 0, 300, ... 2,400 ms: the last 50 ms ago.
    assert_eq!(db.heartbeat_age, Some(Duration::from_millis(50)));
    assert_eq!(db.heartbeat_timeout, Some(Duration::from_secs(2)));
    assert_eq!(db.restart_in, None);
    let router = state.find("bot/router").unwrap();
    assert_eq!(
        (router.after.as_slice(), router.requires.as_slice()),
        (&["db".to_owned()][..], &["db".to_owned()][..])
    );
    assert_eq!(router.restart, RestartPolicy::OnFailure);
    // Once the tree has ended, nobody's intensity is in use.
    tree.shutdown_tree("test", "done").await;
    let ended = tree.current_state().await;
    assert_eq!(ended.intensity, None);
    assert!(
        ended
            .iter()
            .all(|child| child.intensity.is_none() && child.restart_in.is_none())
    );
}
