//! Restarts: on failure, after a panic, after a clean exit, with exponential backoff.

mod common;

use std::time::Duration;

use common::*;
use supervisor::prelude::*;
use supervisor::{ErrorKind, FailureSummary, TerminationReason};

#[tokio::test(start_paused = true)]
async fn failing_service_is_restarted_after_growing_delays() {
    let log = StartLog::new();
    let sup = Supervisor::new(test_config());
    let starts = log.clone();
    sup.spawn_service_with_options(
        service("feed", RestartPolicy::OnFailure, move |ctx| {
            let starts = starts.clone();
            async move {
                starts.record();
                if ctx.attempt() <= 3 {
                    return Err(ServiceError::from(format!("drop {}", ctx.attempt())));
                }
                ctx.cancelled().await;
                Ok(())
            }
        }),
        with_backoff(plain_backoff(100, 10_000)),
    )
    .unwrap();

    run_for(1_000).await;
    // 100, 200, 400 ms after each failure.
    assert_eq!(log.millis(), vec![0, 100, 300, 700]);
    let feed = sup.service_lifecycle("feed").await.unwrap();
    assert_eq!(feed.phase, ServicePhase::Running);
    assert_eq!(feed.start_count, 4);
    assert_eq!(feed.total_failures, 3);
    assert_eq!(feed.last_error.as_deref(), Some("drop 3"));
    assert_eq!(feed.termination_reason, None);
    let metrics = sup.metrics().snapshot();
    assert_eq!(metrics.restarts_total, 3);
    assert_eq!(metrics.spawned_total, 4);
    assert_eq!(metrics.active_services, 1);
}

#[tokio::test(start_paused = true)]
async fn exponential_growth_is_capped_at_max() {
    let log = StartLog::new();
    let sup = Supervisor::new(test_config());
    let starts = log.clone();
    sup.spawn_service_with_options(
        service("broken", RestartPolicy::Always, move |_| {
            let starts = starts.clone();
            async move {
                starts.record();
                Err(ServiceError::from("down"))
            }
        }),
        with_backoff(plain_backoff(100, 1_000)),
    )
    .unwrap();

    run_for(4_600).await;
    // Delays 100, 200, 400, 800, then capped at 1000.
    assert_eq!(
        log.millis(),
        vec![0, 100, 300, 700, 1_500, 2_500, 3_500, 4_500]
    );
}

#[tokio::test(start_paused = true)]
async fn always_restarts_clean_exits_after_base_delay_without_growth() {
    let log = StartLog::new();
    let sup = Supervisor::new(test_config());
    let starts = log.clone();
    let backoff = plain_backoff(100, 10_000).with_circuit_breaker(3, Duration::from_secs(60));
    sup.spawn_service_with_options(
        service("poller", RestartPolicy::Always, move |_| {
            let starts = starts.clone();
            async move {
                starts.record();
                Ok(())
            }
        }),
        with_backoff(backoff),
    )
    .unwrap();

    run_for(550).await;
    assert_eq!(log.millis(), vec![0, 100, 200, 300, 400, 500]);
    // Clean exits are not failures: the breaker (3 within 60 s) never opens.
    let poller = sup.service_lifecycle("poller").await.unwrap();
    assert_eq!(poller.total_failures, 0);
    assert_eq!(poller.phase, ServicePhase::BackingOff);
    assert_eq!(sup.metrics().snapshot().circuit_breaker_trips, 0);
}

#[tokio::test(start_paused = true)]
async fn one_shot_on_failure_service_is_not_restarted_after_success() {
    let log = StartLog::new();
    let sup = Supervisor::new(test_config());
    let starts = log.clone();
    sup.spawn_service(service("migration", RestartPolicy::OnFailure, move |_| {
        let starts = starts.clone();
        async move {
            starts.record();
            tokio::time::sleep(Duration::from_millis(250)).await;
            Ok(())
        }
    }))
    .unwrap();

    run_for(10_000).await;
    assert_eq!(log.millis(), vec![0]);
    let migration = sup.service_lifecycle("migration").await.unwrap();
    assert_eq!(migration.phase, ServicePhase::Terminated);
    assert_eq!(
        migration.termination_reason,
        Some(TerminationReason::Completed)
    );
    assert_eq!(migration.running_time, Duration::from_millis(250));
    let metrics = sup.metrics().snapshot();
    assert_eq!((metrics.active_services, metrics.terminated_total), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn never_policy_does_not_restart_a_failure() {
    let sup = Supervisor::new(test_config());
    let mut events = sup.subscribe();
    sup.spawn_service(service("report", RestartPolicy::Never, |_| async {
        Err(ServiceError::from(std::io::Error::other("disk full")))
    }))
    .unwrap();

    run_for(10_000).await;
    assert_eq!(
        endings(&mut events),
        [(
            "supervisor/report".to_owned(),
            1,
            TerminationReason::Failed(FailureSummary {
                kind: ErrorKind::Transient,
                message: "disk full".into()
            })
        )]
    );
    // A temporary child added at run time is released once it has ended.
    assert!(sup.service_lifecycle("report").await.is_none());
}

#[tokio::test(start_paused = true)]
async fn fatal_error_is_never_restarted_even_under_always() {
    let sup = Supervisor::new(test_config());
    sup.spawn_service(service("router", RestartPolicy::Always, |_| async {
        Err(ServiceError::fatal("API key revoked"))
    }))
    .unwrap();

    run_for(10_000).await;
    let router = sup.service_lifecycle("router").await.unwrap();
    assert_eq!(router.start_count, 1);
    assert_eq!(
        router.termination_reason,
        Some(TerminationReason::Failed(FailureSummary {
            kind: ErrorKind::Fatal,
            message: "API key revoked".into()
        }))
    );
}

#[tokio::test(start_paused = true)]
async fn panic_is_a_failure_that_is_restarted_and_its_message_kept() {
    let log = StartLog::new();
    let sup = Supervisor::new(test_config());
    let starts = log.clone();
    sup.spawn_service_with_options(
        service("candles", RestartPolicy::OnFailure, move |ctx| {
            let starts = starts.clone();
            async move {
                starts.record();
                if ctx.attempt() == 1 {
                    panic!("index out of range in candle {}", 42);
                }
                ctx.cancelled().await;
                Ok(())
            }
        }),
        with_backoff(plain_backoff(50, 1_000)),
    )
    .unwrap();

    run_for(1_000).await;
    assert_eq!(log.millis(), vec![0, 50]);
    let candles = sup.service_lifecycle("candles").await.unwrap();
    assert_eq!(candles.phase, ServicePhase::Running);
    assert_eq!(candles.total_failures, 1);
    assert_eq!(
        candles.last_error.as_deref(),
        Some("index out of range in candle 42")
    );
}

#[tokio::test(start_paused = true)]
async fn panic_under_never_terminates_with_the_panic_message() {
    let sup = Supervisor::new(test_config());
    let mut events = sup.subscribe();
    sup.spawn_service(service("once", RestartPolicy::Never, |_| async {
        panic!("static message")
    }))
    .unwrap();

    run_for(1_000).await;
    assert_eq!(
        endings(&mut events),
        [(
            "supervisor/once".to_owned(),
            1,
            TerminationReason::Panicked("static message".into())
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_resets_after_the_cooldown() {
    let log = StartLog::new();
    let sup = Supervisor::new(test_config());
    let starts = log.clone();
    let backoff = plain_backoff(100, 10_000).with_cooldown(Duration::from_secs(5));
    sup.spawn_service_with_options(
        service("feed", RestartPolicy::OnFailure, move |ctx| {
            let starts = starts.clone();
            async move {
                starts.record();
                // Attempt 3 runs healthily for 6 s (> cooldown) before failing.
                let healthy = if ctx.attempt() == 3 { 6_000 } else { 0 };
                tokio::time::sleep(Duration::from_millis(healthy)).await;
                Err(ServiceError::from("drop"))
            }
        }),
        with_backoff(backoff),
    )
    .unwrap();

    run_for(6_450).await;
    // 100, 200, then attempt 3 runs 300..6300 and the next delay is back to 100.
    assert_eq!(log.millis(), vec![0, 100, 300, 6_400]);
}

#[tokio::test(start_paused = true)]
async fn per_service_backoff_overrides_the_default() {
    let fast = StartLog::new();
    let slow = StartLog::new();
    let sup = Supervisor::new(test_config().with_default_backoff(plain_backoff(1_000, 1_000)));
    for (name, log, options) in [
        ("fast", fast.clone(), with_backoff(plain_backoff(10, 10))),
        ("slow", slow.clone(), SpawnOptions::new()),
    ] {
        sup.spawn_service_with_options(
            service(name, RestartPolicy::OnFailure, move |_| {
                let log = log.clone();
                async move {
                    log.record();
                    Err(ServiceError::from("down"))
                }
            }),
            options,
        )
        .unwrap();
    }

    run_for(2_005).await;
    assert_eq!(slow.millis(), vec![0, 1_000, 2_000]);
    assert_eq!(fast.millis().len(), 201);
    assert_eq!(fast.millis()[..3], [0, 10, 20]);
}

#[tokio::test(start_paused = true)]
async fn restart_policy_option_overrides_the_services_own() {
    let sup = Supervisor::new(test_config());
    let mut events = sup.subscribe();
    sup.spawn_service_with_options(
        service("once", RestartPolicy::Always, |_| async { Ok(()) }),
        SpawnOptions::new().with_restart_policy(RestartPolicy::Never),
    )
    .unwrap();
    run_for(1_000).await;
    // Started once and completed for good, as `Never` says.
    assert_eq!(
        endings(&mut events),
        [(
            "supervisor/once".to_owned(),
            1,
            TerminationReason::Completed
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn jitter_keeps_delays_within_bounds_and_is_reproducible_with_a_seed() {
    async fn starts_with_seed(seed: u64) -> Vec<u64> {
        let log = StartLog::new();
        let sup = Supervisor::new(test_config().with_rng_seed(seed));
        let starts = log.clone();
        let backoff = plain_backoff(100, 100).with_jitter(Jitter::Equal);
        sup.spawn_service_with_options(
            service("jittery", RestartPolicy::Always, move |_| {
                let starts = starts.clone();
                async move {
                    starts.record();
                    Err(ServiceError::from("down"))
                }
            }),
            with_backoff(backoff),
        )
        .unwrap();
        run_for(2_000).await;
        log.millis()
    }
    let first = starts_with_seed(3).await;
    assert_eq!(first, starts_with_seed(3).await);
    assert_ne!(first, starts_with_seed(4).await);
    for pair in first.windows(2) {
        let delay = pair[1] - pair[0];
        assert!((50..=101).contains(&delay), "equal jitter delay {delay} ms");
    }
}
