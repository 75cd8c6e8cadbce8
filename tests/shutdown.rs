//! Shutdown: cancel, drain within the timeout, abort the rest, leave no task alive.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use supervisor::prelude::*;
use supervisor::testing::TestKit;
use supervisor::{EventKind, ServiceShutdown, TerminationReason};

/// Sets its flag when dropped: proves an aborted attempt's future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn cooperative(name: &str, drain_ms: u64) -> Box<dyn TradingService> {
    service(name, RestartPolicy::Always, move |ctx| async move {
        ctx.cancelled().await;
        tokio::time::sleep(Duration::from_millis(drain_ms)).await;
        Ok(())
    })
}

fn stubborn(name: &str, dropped: Arc<AtomicBool>) -> Box<dyn TradingService> {
    service(name, RestartPolicy::Always, move |_| {
        let guard = DropFlag(Arc::clone(&dropped));
        async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(())
        }
    })
}

#[tokio::test(start_paused = true)]
async fn graceful_services_drain_and_stubborn_ones_are_aborted_at_the_timeout() {
    let before = alive_tasks();
    let sup = Supervisor::new(test_config().with_shutdown_timeout(Duration::from_secs(2)));
    let dropped = Arc::new(AtomicBool::new(false));
    sup.spawn_service(cooperative("router", 500)).unwrap();
    sup.spawn_service(stubborn("legacy", Arc::clone(&dropped)))
        .unwrap();
    run_for(1_000).await;
    assert_eq!(alive_tasks(), before + 3); // two attempts and the control loop

    let started = tokio::time::Instant::now();
    sup.trigger_shutdown();
    assert!(sup.is_shutting_down());
    let report = sup.wait_for_drain().await;

    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(report.duration, Duration::from_secs(2));
    assert_eq!(
        report.services,
        vec![
            ServiceShutdown {
                path: "supervisor/router".into(),
                name: "router".into(),
                outcome: StopOutcome::Graceful
            },
            ServiceShutdown {
                path: "supervisor/legacy".into(),
                name: "legacy".into(),
                outcome: StopOutcome::Aborted
            },
        ]
    );
    assert!(dropped.load(Ordering::SeqCst));
    assert_eq!(alive_tasks(), before);

    let snapshots = sup.lifecycle_snapshots().await;
    assert_eq!(
        snapshots[0].termination_reason,
        Some(TerminationReason::Cancelled)
    );
    assert_eq!(
        snapshots[1].termination_reason,
        Some(TerminationReason::Aborted)
    );
    assert!(
        snapshots
            .iter()
            .all(|s| s.phase == ServicePhase::Terminated)
    );
    assert_eq!(sup.metrics().snapshot().active_services, 0);
    assert_eq!(sup.metrics().snapshot().terminated_total, 2);
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_as_soon_as_every_service_has_stopped() {
    let before = alive_tasks();
    let sup = Supervisor::new(test_config().with_shutdown_timeout(Duration::from_secs(30)));
    sup.spawn_service(cooperative("a", 100)).unwrap();
    sup.spawn_service(cooperative("b", 300)).unwrap();
    run_for(10).await;
    sup.trigger_shutdown();
    let report = sup.run_until_shutdown().await.unwrap();
    assert_eq!(report.duration, Duration::from_millis(300));
    assert_eq!(report.count(StopOutcome::Graceful), 2);
    assert_eq!(alive_tasks(), before);
}

#[tokio::test(start_paused = true)]
async fn a_service_backing_off_is_not_restarted_during_shutdown() {
    let sup = Supervisor::new(test_config());
    sup.spawn_service_with_options(
        service("feed", RestartPolicy::Always, |_| async {
            Err(ServiceError::from("down"))
        }),
        with_backoff(plain_backoff(10_000, 10_000)),
    )
    .unwrap();
    run_for(100).await;
    assert_eq!(
        sup.service_lifecycle("feed").await.unwrap().phase,
        ServicePhase::BackingOff
    );
    sup.trigger_shutdown();
    let report = sup.wait_for_drain().await;
    assert_eq!(report.duration, Duration::ZERO);
    assert_eq!(report.count(StopOutcome::NotRunning), 1);
    let feed = sup.service_lifecycle("feed").await.unwrap();
    assert_eq!(feed.start_count, 1);
    assert_eq!(feed.termination_reason, Some(TerminationReason::Cancelled));
}

#[tokio::test(start_paused = true)]
async fn an_error_returned_while_stopping_is_kept_but_not_restarted() {
    let sup = Supervisor::new(test_config());
    sup.spawn_service(service(
        "flusher",
        RestartPolicy::Always,
        |ctx| async move {
            ctx.cancelled().await;
            Err(ServiceError::from("flush failed"))
        },
    ))
    .unwrap();
    run_for(10).await;
    sup.trigger_shutdown();
    let report = sup.wait_for_drain().await;
    assert_eq!(report.count(StopOutcome::Graceful), 1);
    let flusher = sup.service_lifecycle("flusher").await.unwrap();
    assert_eq!(flusher.start_count, 1);
    assert_eq!(flusher.total_failures, 1);
    assert!(matches!(
        flusher.termination_reason,
        Some(TerminationReason::Failed(ref f)) if f.message == "flush failed"
    ));
}

#[tokio::test(start_paused = true)]
async fn shutdown_of_a_supervisor_that_never_started_returns_at_once() {
    let sup = Supervisor::new(test_config());
    sup.trigger_shutdown();
    let report = sup.run_until_shutdown().await.unwrap();
    assert_eq!(report, Default::default());
    assert!(sup.lifecycle_snapshots().await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn dropping_the_supervisor_shuts_its_services_down() {
    let before = alive_tasks();
    let stopped = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stopped);
    let sup = Supervisor::new(test_config());
    sup.spawn_service(service("feed", RestartPolicy::Always, move |ctx| {
        let flag = Arc::clone(&flag);
        async move {
            ctx.cancelled().await;
            flag.store(true, Ordering::SeqCst);
            Ok(())
        }
    }))
    .unwrap();
    run_for(10).await;
    drop(sup);
    run_for(10).await;
    assert!(stopped.load(Ordering::SeqCst));
    assert_eq!(alive_tasks(), before);
}

#[tokio::test(start_paused = true)]
async fn contexts_of_old_attempts_cannot_cancel_new_ones() {
    let kept = Arc::new(std::sync::Mutex::new(Vec::<TaskContext>::new()));
    let keep = Arc::clone(&kept);
    let sup = Supervisor::new(test_config());
    sup.spawn_service_with_options(
        service("feed", RestartPolicy::Always, move |ctx| {
            keep.lock().unwrap().push(ctx.clone());
            async move {
                if ctx.attempt() == 1 {
                    return Err(ServiceError::from("first attempt fails"));
                }
                ctx.cancelled().await;
                Ok(())
            }
        }),
        with_backoff(plain_backoff(100, 100)),
    )
    .unwrap();
    run_for(500).await;
    let contexts = kept.lock().unwrap().clone();
    assert_eq!(contexts.len(), 2);
    contexts[0].cancellation_token().cancel();
    run_for(500).await;
    assert!(!contexts[1].is_cancelled());
    let feed = sup.service_lifecycle("feed").await.unwrap();
    assert_eq!((feed.phase, feed.start_count), (ServicePhase::Running, 2));
}

/// A stop wave shares one kill timer per deadline: children of one shutdown with different
/// limits are each aborted at their own, and the cooperative one is not touched.
#[tokio::test(start_paused = true)]
async fn each_child_of_a_wave_is_aborted_at_its_own_deadline() {
    let limited = |name: &str, limit_ms: u64| {
        idle(name).with_shutdown(ShutdownPolicy::Timeout(Duration::from_millis(limit_ms)))
    };
    let spec = SupervisorSpec::builder("bot")
        .child(limited("fast", 1_000))
        .child(limited("slow", 3_000))
        .child(limited("also_fast", 1_000))
        .child(idle("polite"))
        .build()
        .unwrap();
    let mut kit = TestKit::start(spec).await.unwrap();
    for path in ["bot/fast", "bot/slow", "bot/also_fast"] {
        kit.hang(path);
    }
    kit.advance(Duration::from_millis(10)).await;
    let report = kit.tree().shutdown_tree("test", "done").await;
    assert_eq!(report.duration, Duration::from_secs(3));
    assert_eq!(
        outcomes(&report),
        [
            ("bot/fast", StopOutcome::Aborted),
            ("bot/slow", StopOutcome::Aborted),
            ("bot/also_fast", StopOutcome::Aborted),
            ("bot/polite", StopOutcome::Graceful),
        ]
    );
    let aborted: Vec<_> = kit
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Terminated(TerminationReason::Aborted)))
        .map(|e| (&*e.path, e.at.as_millis()))
        .collect();
    // Shutdown began at 10 ms; children stop newest first.
    assert_eq!(
        aborted,
        [
            ("bot/also_fast", 1_010),
            ("bot/fast", 1_010),
            ("bot/slow", 3_010)
        ]
    );
}

/// A worker stuck inside a poll (blocking code in an async fn) cannot be aborted until the
/// poll returns. Shutdown waits the abort wait for it, then reports it detached and returns
/// while it is still stuck; the others are unaffected. (Real threads: a stuck poll cannot
/// happen on the paused single-threaded clock. The stuck poll is bounded, so that a missing
/// detach fails the assertion instead of hanging.)
#[test]
fn a_worker_stuck_in_a_poll_is_detached_after_the_abort_wait() {
    use std::sync::Mutex;
    use std::sync::mpsc;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(3)
        .enable_all()
        .build()
        .unwrap();
    let (release, released) = mpsc::channel::<()>();
    let (entered, entering) = mpsc::channel::<()>();
    let released = Arc::new(Mutex::new(released));
    let entered = Arc::new(Mutex::new(entered));
    let report = runtime.block_on(async move {
        let stuck = service_fn("stuck", move |_ctx| {
            let (released, entered) = (Arc::clone(&released), Arc::clone(&entered));
            async move {
                let _ = entered.lock().unwrap().send(());
                // Holds its worker thread inside this poll until released.
                let _ = released
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(30));
            }
        });
        let spec = SupervisorSpec::builder("bot")
            .shutdown_timeout(Duration::from_millis(20))
            .abort_wait(Duration::from_millis(100))
            .child(stuck)
            .child(service_fn(
                "feed",
                |ctx| async move { ctx.cancelled().await },
            ))
            .build()
            .unwrap();
        let tree = Supervisor::start_with_config(spec, test_config())
            .await
            .unwrap();
        tokio::task::spawn_blocking(move || entering.recv().unwrap())
            .await
            .unwrap();
        let report = tree.shutdown_tree("test", "done").await;
        let state = tree.current_state().await;
        let stuck = state.find("bot/stuck").unwrap();
        assert_eq!(stuck.phase, supervisor::ServicePhase::Terminated);
        assert_eq!(
            stuck.last_exit.as_deref(),
            Some("detached: it could not be aborted after the shutdown timeout")
        );
        report
    });
    // Shutdown returned while the worker was still stuck: only now is it let go.
    release.send(()).unwrap();
    assert_eq!(
        outcomes(&report),
        [
            ("bot/stuck", supervisor::StopOutcome::Detached),
            ("bot/feed", supervisor::StopOutcome::Graceful)
        ]
    );
    drop(runtime);
}

/// A runtime dropped under a running tree (`main` returned without shutting it down, or a
/// test panicked) cancels the attempts it drops, so a blocking worker that checks its
/// context ends and the runtime's drop, which waits for blocking threads, returns.
#[test]
fn dropping_the_runtime_under_a_running_tree_cancels_its_blocking_workers() {
    use std::sync::mpsc;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (started, starting) = mpsc::channel::<()>();
    let (stopped, stopping) = mpsc::channel::<()>();
    let tree = runtime.block_on(async move {
        let ledger = blocking_fn("ledger", move |ctx: TaskContext| {
            let _ = started.send(());
            while !ctx.is_cancelled() {
                std::thread::park_timeout(Duration::from_millis(5));
            }
            let _ = stopped.send(());
        });
        let spec = SupervisorSpec::builder("bot")
            .child(ledger)
            .build()
            .unwrap();
        Supervisor::start_with_config(spec, test_config())
            .await
            .unwrap()
    });
    starting.recv_timeout(Duration::from_secs(30)).unwrap();
    // Dropped on a thread of its own: were the worker not cancelled, that drop would wait
    // for ever, and this test fails at the timeout instead of hanging.
    std::thread::spawn(move || {
        drop(tree);
        drop(runtime);
    });
    stopping
        .recv_timeout(Duration::from_secs(30))
        .expect("the blocking worker was not cancelled when its runtime was dropped");
}

#[test]
fn an_abort_wait_must_be_positive_and_bounded() {
    for wait in [
        Duration::ZERO,
        supervisor::MAX_DURATION + Duration::from_secs(1),
    ] {
        let error = SupervisorSpec::builder("bot")
            .abort_wait(wait)
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("abort_wait"), "{error}");
    }
    let spec = SupervisorSpec::builder("bot").build().unwrap();
    assert_eq!(spec.abort_wait(), Duration::from_secs(5));
}
