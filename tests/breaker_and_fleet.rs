//! Circuit breakers, lifecycle snapshots, events and a mixed fleet.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use supervisor::prelude::*;
use supervisor::{EventKind, TerminationReason};

fn always_failing(name: &str, log: StartLog) -> Box<dyn TradingService> {
    service(name, RestartPolicy::Always, move |_| {
        let log = log.clone();
        async move {
            log.record();
            Err(ServiceError::from("exchange unreachable"))
        }
    })
}

#[tokio::test(start_paused = true)]
async fn circuit_breaker_trips_and_stays_tripped() {
    let log = StartLog::new();
    let sup = Supervisor::new(test_config());
    let backoff = plain_backoff(100, 100).with_circuit_breaker(3, Duration::from_secs(60));
    sup.spawn_service_with_options(always_failing("broken", log.clone()), with_backoff(backoff))
        .unwrap();

    run_for(1_000).await;
    assert_eq!(log.millis(), vec![0, 100, 200]);
    let broken = sup.service_lifecycle("broken").await.unwrap();
    assert_eq!(broken.phase, ServicePhase::Terminated);
    assert_eq!(
        broken.termination_reason,
        Some(TerminationReason::CircuitBreakerOpen {
            failures: 3,
            max_failures: 3
        })
    );
    assert_eq!(broken.total_failures, 3);
    assert_eq!(broken.last_error.as_deref(), Some("exchange unreachable"));

    // An hour later, well past the window, it is still not restarted.
    run_for(3_600_000).await;
    assert_eq!(log.millis().len(), 3);
    let metrics = sup.metrics().snapshot();
    assert_eq!(metrics.circuit_breaker_trips, 1);
    assert_eq!(metrics.terminated_total, 1);
    assert_eq!(metrics.active_services, 0);
}

#[tokio::test(start_paused = true)]
async fn failures_spread_wider_than_the_window_never_trip_the_breaker() {
    let log = StartLog::new();
    let sup = Supervisor::new(test_config());
    // Two failures within 150 ms would trip it; they come 200 ms apart.
    let backoff = plain_backoff(200, 200).with_circuit_breaker(2, Duration::from_millis(150));
    sup.spawn_service_with_options(
        always_failing("slow-fail", log.clone()),
        with_backoff(backoff),
    )
    .unwrap();
    run_for(1_050).await;
    assert_eq!(log.millis(), vec![0, 200, 400, 600, 800, 1_000]);
    assert_eq!(sup.metrics().snapshot().circuit_breaker_trips, 0);
}

#[tokio::test(start_paused = true)]
async fn snapshots_track_running_time_and_heartbeats() {
    let sup = Supervisor::new(test_config());
    sup.spawn_service_with_options(
        service("ticker", RestartPolicy::OnFailure, |ctx| async move {
            if ctx.attempt() == 1 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                return Err(ServiceError::from("tick lost"));
            }
            loop {
                ctx.heartbeat();
                tokio::select! {
                    _ = ctx.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_millis(1_000)) => {}
                }
            }
        }),
        with_backoff(plain_backoff(100, 100)),
    )
    .unwrap();

    run_for(2_900).await;
    // Running 0..300 then 400..2900; the last heartbeat was at 2400.
    let ticker = sup.service_lifecycle("ticker").await.unwrap();
    assert_eq!(ticker.running_time, Duration::from_millis(2_800));
    assert_eq!(ticker.last_heartbeat_age, Some(Duration::from_millis(500)));
    assert_eq!(ticker.start_count, 2);
    assert_eq!(sup.service_lifecycle("nope").await, None);

    let all = sup.lifecycle_snapshots().await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0], ticker);
}

#[tokio::test(start_paused = true)]
async fn events_describe_each_lifecycle_change_in_order() {
    let sup = Supervisor::new(test_config());
    let mut events = sup.subscribe();
    sup.spawn_service_with_options(
        service("feed", RestartPolicy::OnFailure, |ctx| async move {
            if ctx.attempt() == 1 {
                return Err(ServiceError::from("reset"));
            }
            Ok(())
        }),
        with_backoff(plain_backoff(100, 100)),
    )
    .unwrap();
    run_for(500).await;

    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        assert_eq!(event.seq, seen.len() as u64 + 1);
        seen.push((event.at.as_millis(), event.kind));
    }
    use ServicePhase::*;
    assert_eq!(
        seen,
        vec![
            (
                0,
                EventKind::PhaseChanged {
                    from: Waiting,
                    to: Starting
                }
            ),
            (0, EventKind::Started { attempt: 1 }),
            (
                0,
                EventKind::PhaseChanged {
                    from: Starting,
                    to: Running
                }
            ),
            (
                0,
                EventKind::PhaseChanged {
                    from: Running,
                    to: BackingOff
                }
            ),
            (
                0,
                EventKind::BackingOff {
                    next_attempt: 2,
                    delay: Duration::from_millis(100),
                    cause: Some("reset".into())
                }
            ),
            (
                100,
                EventKind::PhaseChanged {
                    from: BackingOff,
                    to: Starting
                }
            ),
            (100, EventKind::Started { attempt: 2 }),
            (
                100,
                EventKind::PhaseChanged {
                    from: Starting,
                    to: Running
                }
            ),
            (
                100,
                EventKind::PhaseChanged {
                    from: Running,
                    to: Terminated
                }
            ),
            (100, EventKind::Terminated(TerminationReason::Completed)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn event_lines_are_readable() {
    let sup = Supervisor::new(test_config());
    let mut events = sup.subscribe();
    sup.spawn_service_with_options(
        service("feed", RestartPolicy::OnFailure, |_| async {
            Err(ServiceError::from("reset"))
        }),
        with_backoff(plain_backoff(250, 250)),
    )
    .unwrap();
    run_for(100).await;
    let lines: Vec<String> = std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| e.to_string())
        .collect();
    assert_eq!(lines[0], "[   0.000s] supervisor/feed: waiting -> starting");
    assert_eq!(lines[1], "[   0.000s] supervisor/feed: started");
    assert_eq!(
        lines[4],
        "[   0.000s] supervisor/feed: backing off, attempt 2 in 250ms after: reset"
    );
}

#[tokio::test(start_paused = true)]
async fn mixed_fleet_of_healthy_flaky_and_broken_services() {
    let sup = Supervisor::new(test_config());
    let healthy_starts = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&healthy_starts);
    sup.spawn_service(service("healthy", RestartPolicy::Always, move |ctx| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            ctx.cancelled().await;
            Ok(())
        }
    }))
    .unwrap();
    sup.spawn_service_with_options(
        service("flaky", RestartPolicy::OnFailure, |ctx| async move {
            if ctx.attempt() <= 2 {
                panic!("flaky attempt {}", ctx.attempt());
            }
            ctx.cancelled().await;
            Ok(())
        }),
        with_backoff(plain_backoff(100, 1_000)),
    )
    .unwrap();
    let breaker = plain_backoff(100, 1_000).with_circuit_breaker(4, Duration::from_secs(60));
    sup.spawn_service_with_options(
        always_failing("broken", StartLog::new()),
        with_backoff(breaker),
    )
    .unwrap();

    run_for(5_000).await;
    let snapshots = sup.lifecycle_snapshots().await;
    let summary: Vec<_> = snapshots
        .iter()
        .map(|s| (s.name.as_str(), s.phase, s.start_count, s.total_failures))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("healthy", ServicePhase::Running, 1, 0),
            ("flaky", ServicePhase::Running, 3, 2),
            ("broken", ServicePhase::Terminated, 4, 4),
        ]
    );
    assert_eq!(healthy_starts.load(Ordering::SeqCst), 1);
    let metrics = sup.metrics().snapshot();
    assert_eq!(metrics.active_services, 2);
    assert_eq!(metrics.circuit_breaker_trips, 1);
    assert_eq!(metrics.restarts_total, 2 + 3);

    sup.trigger_shutdown();
    let report = sup.wait_for_drain().await;
    assert_eq!(report.count(StopOutcome::Graceful), 2);
    assert_eq!(report.count(StopOutcome::NotRunning), 1);
}
