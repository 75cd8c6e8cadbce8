//! Explicit readiness: an attempt is starting until it calls `ctx.ready()`, and missing the
//! startup timeout is a failure.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use supervisor::error::SpawnError;
use supervisor::prelude::*;
use supervisor::{TerminationReason, TimeoutKind};

fn explicit(timeout_ms: u64) -> SpawnOptions {
    SpawnOptions::new()
        .with_readiness(Readiness::Explicit {
            timeout: Duration::from_millis(timeout_ms),
        })
        .with_backoff(plain_backoff(100, 10_000))
}

#[tokio::test(start_paused = true)]
async fn an_explicit_service_is_starting_until_it_reports_ready() {
    let sup = Supervisor::new(test_config());
    sup.spawn_service_with_options(
        service("risk-engine", RestartPolicy::Always, |ctx| async move {
            tokio::time::sleep(Duration::from_millis(300)).await; // loading limits
            ctx.ready();
            ctx.ready(); // a second report changes nothing
            ctx.cancelled().await;
            Ok(())
        }),
        explicit(1_000),
    )
    .unwrap();

    run_for(299).await;
    let engine = sup.service_lifecycle("risk-engine").await.unwrap();
    assert_eq!(engine.phase, ServicePhase::Starting);
    assert_eq!(engine.running_time, Duration::ZERO);

    run_for(1_701).await;
    let engine = sup.service_lifecycle("risk-engine").await.unwrap();
    assert_eq!(engine.phase, ServicePhase::Running);
    assert_eq!(engine.running_time, Duration::from_millis(1_700));
    assert_eq!(engine.total_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn missing_the_startup_timeout_is_a_failure_and_the_attempt_is_stopped() {
    let log = StartLog::new();
    let live = Arc::new(AtomicU32::new(0));
    let sup = Supervisor::new(test_config());
    let (starts, counter) = (log.clone(), Arc::clone(&live));
    sup.spawn_service_with_options(
        service("stuck", RestartPolicy::OnFailure, move |_| {
            starts.record();
            let guard = LiveGuard::new(Arc::clone(&counter));
            async move {
                let _guard = guard;
                std::future::pending::<()>().await; // never ready, ignores cancellation
                Ok(())
            }
        }),
        explicit(1_000),
    )
    .unwrap();

    run_for(3_250).await;
    // Deadline at 1000, restart 100 later; deadline at 2100, restart 200 later.
    assert_eq!(log.millis(), vec![0, 1_100, 2_300]);
    assert_eq!(
        live.load(Ordering::SeqCst),
        1,
        "only the current attempt is alive"
    );
    let stuck = sup.service_lifecycle("stuck").await.unwrap();
    assert_eq!(stuck.phase, ServicePhase::Starting);
    assert_eq!(stuck.total_failures, 2);
    assert_eq!(
        stuck.last_error.as_deref(),
        Some("did not report ready within 1.00s")
    );
}

#[tokio::test(start_paused = true)]
async fn a_startup_timeout_under_never_terminates_with_timed_out() {
    let sup = Supervisor::new(test_config());
    let mut events = sup.subscribe();
    sup.spawn_service_with_options(
        service("once", RestartPolicy::Never, |ctx| async move {
            ctx.cancelled().await;
            Ok(())
        }),
        explicit(500),
    )
    .unwrap();
    run_for(1_000).await;
    assert_eq!(
        endings(&mut events),
        [(
            "supervisor/once".to_owned(),
            1,
            TerminationReason::TimedOut(TimeoutKind::Startup(Duration::from_millis(500)))
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn a_ready_report_from_an_earlier_attempt_is_ignored() {
    let kept = Arc::new(std::sync::Mutex::new(None::<TaskContext>));
    let keep = Arc::clone(&kept);
    let sup = Supervisor::new(test_config());
    sup.spawn_service_with_options(
        service("feed", RestartPolicy::Always, move |ctx| {
            let keep = Arc::clone(&keep);
            async move {
                if ctx.attempt() == 1 {
                    *keep.lock().unwrap() = Some(ctx.clone());
                    return Err(ServiceError::from("first attempt fails before ready"));
                }
                ctx.cancelled().await; // attempt 2 never reports ready itself
                Ok(())
            }
        }),
        explicit(60_000),
    )
    .unwrap();
    run_for(500).await;
    let old = kept.lock().unwrap().clone().unwrap();
    old.ready();
    run_for(500).await;
    let feed = sup.service_lifecycle("feed").await.unwrap();
    assert_eq!((feed.start_count, feed.phase), (2, ServicePhase::Starting));
}

#[tokio::test(start_paused = true)]
async fn a_zero_startup_timeout_is_rejected() {
    let sup = Supervisor::new(test_config());
    let options = SpawnOptions::new().with_readiness(Readiness::Explicit {
        timeout: Duration::ZERO,
    });
    let result = sup.spawn_service_with_options(
        service("x", RestartPolicy::Never, |_| async { Ok(()) }),
        options,
    );
    assert!(
        matches!(result, Err(SpawnError::InvalidConfig(e)) if e.field() == "readiness.timeout")
    );
}

/// Counts live attempts: +1 when made, -1 when dropped.
struct LiveGuard(Arc<AtomicU32>);

impl LiveGuard {
    fn new(counter: Arc<AtomicU32>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        LiveGuard(counter)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
