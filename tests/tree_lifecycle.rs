//! Trees: dependencies and readiness, nesting and escalation, auto-shutdown, heartbeats,
//! blocking workers, ordered shutdown, and a tree of 10,000 children.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use supervisor::error::SupervisorError;
use supervisor::prelude::*;
use supervisor::{ChildKind, StopOutcome, TerminationReason};

async fn start(spec: SupervisorSpec) -> SupervisorHandle {
    Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn explicit_readiness_holds_back_dependents_until_ready() {
    let journal = Journal::new();
    let log = journal.clone();
    let risk = service_fn("risk_engine", move |ctx: TaskContext| {
        let log = log.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(300)).await; // loading limits
            log.log("risk_engine ready");
            ctx.ready();
            ctx.cancelled().await;
        }
    })
    .with_readiness(Readiness::Explicit {
        timeout: Duration::from_secs(5),
    });
    let spec = SupervisorSpec::builder("bot")
        .child(logged("router", &journal, None, 0).after(["risk_engine"]))
        .child(risk)
        .child(logged("poller", &journal, None, 0))
        .build()
        .unwrap();
    assert_eq!(spec.startup_order(), ["risk_engine", "router", "poller"]);
    let tree = start(spec).await;
    assert_eq!(
        tree.current_state().await.find("bot/router").unwrap().phase,
        ServicePhase::Waiting
    );
    run_for(1_000).await;
    assert_eq!(
        journal.lines(),
        [
            "0 start poller#1",
            "300 risk_engine ready",
            "300 start router#1"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_dependency_that_misses_its_startup_timeout_fails_and_keeps_dependents_waiting() {
    let journal = Journal::new();
    let stuck = service_fn("risk_engine", |ctx| async move { ctx.cancelled().await })
        .with_readiness(Readiness::Explicit {
            timeout: Duration::from_secs(1),
        })
        .with_backoff(plain_backoff(100, 100));
    let spec = SupervisorSpec::builder("bot")
        .child(stuck)
        .child(logged("router", &journal, None, 0).after(["risk_engine"]))
        .build()
        .unwrap();
    let tree = start(spec).await;
    // Deadlines at 1000 and 2100, restarts 100 ms after each.
    run_for(2_250).await;
    let state = tree.current_state().await;
    let risk = state.find("bot/risk_engine").unwrap();
    assert_eq!((risk.phase, risk.attempt), (ServicePhase::Starting, 3));
    assert_eq!(
        risk.last_exit.as_deref(),
        Some("timed out: did not report ready within 1.00s")
    );
    assert_eq!(
        state.find("bot/router").unwrap().phase,
        ServicePhase::Waiting
    );
    assert!(journal.lines().is_empty());
}

fn failing_forever(name: &'static str) -> ChildSpec {
    service_fn(name, |_| async {
        Err::<(), _>(ServiceError::from("venue rejected the order"))
    })
    .with_backoff(plain_backoff(10, 10))
}

fn level(name: &'static str, child: ChildSpec) -> ChildSpec {
    let spec = SupervisorSpec::builder(name)
        .intensity(1, Duration::from_secs(60))
        .child(child)
        .build()
        .unwrap();
    ChildSpec::supervisor(spec).with_backoff(plain_backoff(10, 10))
}

#[tokio::test(start_paused = true)]
async fn escalation_travels_through_three_levels_and_shuts_the_tree_down() {
    let before = alive_tasks();
    let leaf = level("leaf", failing_forever("router"));
    let mid = level("mid", leaf);
    let spec = SupervisorSpec::builder("bot")
        .intensity(1, Duration::from_secs(60))
        .child(mid)
        .child(idle("feed"))
        .build()
        .unwrap();
    let tree = start(spec).await;
    let error = tree.run_until_shutdown().await.unwrap_err();
    let SupervisorError::Escalated(escalation) = &error else {
        panic!("expected an escalation, got {error}");
    };
    assert_eq!(escalation.supervisor, "bot");
    assert_eq!(escalation.child, "bot/mid");
    assert_eq!(escalation.child_failures, 2);
    assert!(
        escalation.cause.contains("supervisor `bot/mid` gave up"),
        "{}",
        escalation.cause
    );
    assert!(
        escalation
            .cause
            .contains("`bot/mid/leaf` failed (2 failures in all)")
    );
    assert!(
        escalation
            .cause
            .contains("`bot/mid/leaf/router` failed (2 failures in all): venue rejected the order")
    );
    let message = error.to_string();
    assert!(message.starts_with("the supervision tree failed: supervisor `bot` gave up after more than 1 restarts within 1m00s"), "{message}");

    let state = tree.current_state().await;
    assert!(
        state.iter().all(|c| c.phase == ServicePhase::Terminated),
        "{state}"
    );
    assert_eq!(alive_tasks(), before);
}

#[tokio::test(start_paused = true)]
async fn a_nested_supervisor_restarts_its_own_children_without_bothering_its_parent() {
    let journal = Journal::new();
    let execution = SupervisorSpec::builder("execution")
        .strategy(Strategy::RestForOne)
        .child(logged("order_router", &journal, Some(100), 0))
        .child(logged("fill_tracker", &journal, None, 0))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        .child(logged("feed", &journal, None, 0))
        .child(ChildSpec::supervisor(execution))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    assert_eq!(
        journal.lines(),
        [
            "0 start feed#1",
            "0 start order_router#1",
            "0 start fill_tracker#1",
            "100 stop order_router",
            "100 stop fill_tracker",
            "150 start order_router#2",
            "150 start fill_tracker#2",
        ]
    );
    let state = tree.current_state().await;
    let execution = state.find("bot/execution").unwrap();
    assert_eq!(
        (execution.kind, execution.attempt),
        (ChildKind::Supervisor, 1)
    );
    let paths: Vec<_> = state.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "bot/feed",
            "bot/execution",
            "bot/execution/order_router",
            "bot/execution/fill_tracker"
        ]
    );
    assert_eq!(state.find("bot/execution/order_router").unwrap().attempt, 2);

    let report = tree.shutdown_tree("operator", "end of session").await;
    let outcomes: Vec<_> = report
        .services
        .iter()
        .map(|s| (s.path.as_str(), s.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("bot/feed", StopOutcome::Graceful),
            ("bot/execution", StopOutcome::Graceful),
            ("bot/execution/order_router", StopOutcome::Graceful),
            ("bot/execution/fill_tracker", StopOutcome::Graceful),
        ]
    );
    assert_eq!(
        (report.requested_by.as_str(), report.reason.as_str()),
        ("operator", "end of session")
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_dependents_before_their_dependencies() {
    let journal = Journal::new();
    // router depends on risk, risk on feed; each takes 100 ms to drain. poller is independent.
    let spec = SupervisorSpec::builder("bot")
        .child(logged("feed", &journal, None, 100))
        .child(logged("risk", &journal, None, 100).after(["feed"]))
        .child(logged("router", &journal, None, 100).after(["risk"]))
        .child(logged("poller", &journal, None, 100))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    let report = tree.shutdown_tree("test", "ordered").await;
    let lines = journal.lines();
    assert_eq!(
        lines[4..],
        [
            "1100 stop poller",
            "1100 stop router",
            "1200 stop risk",
            "1300 stop feed"
        ]
    );
    assert_eq!(report.duration, Duration::from_millis(300));
    assert_eq!(report.count(StopOutcome::Graceful), 4);
}

#[tokio::test(start_paused = true)]
async fn shutdown_policies_brutal_kill_and_timeout_are_honoured() {
    let journal = Journal::new();
    let stubborn = |name: &'static str| {
        let journal = journal.clone();
        service_fn(name, move |_| {
            let guard = journal.on_drop(format!("dropped {name}"));
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            }
        })
    };
    let spec = SupervisorSpec::builder("bot")
        .shutdown_timeout(Duration::from_millis(700))
        .child(stubborn("killed").with_shutdown(ShutdownPolicy::BrutalKill))
        .child(stubborn("timed").with_shutdown(ShutdownPolicy::Timeout(Duration::from_millis(200))))
        .child(stubborn("default"))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(100).await;
    let report = tree.shutdown_tree("test", "policies").await;
    assert_eq!(
        journal.lines(),
        [
            "100 dropped killed",
            "300 dropped timed",
            "800 dropped default"
        ]
    );
    assert_eq!(report.count(StopOutcome::Aborted), 3);
    assert_eq!(report.duration, Duration::from_millis(700));
}

#[tokio::test(start_paused = true)]
async fn any_significant_child_ending_normally_shuts_the_supervisor_down() {
    let spec = SupervisorSpec::builder("backfill")
        .auto_shutdown(AutoShutdown::AnySignificant)
        .child(idle("feed"))
        .child(
            service_fn("job", |_| async {
                tokio::time::sleep(Duration::from_millis(500)).await
            })
            .significant(true),
        )
        .build()
        .unwrap();
    let tree = start(spec).await;
    let report = tree.run_until_shutdown().await.unwrap();
    assert_eq!(report.requested_by, "backfill");
    assert_eq!(
        report.reason,
        "auto-shutdown: significant child `job` terminated"
    );
    assert_eq!(tree.metrics().snapshot().active_services, 0);
}

#[tokio::test(start_paused = true)]
async fn all_significant_waits_for_every_significant_child() {
    let job = |name: &'static str, ms: u64| {
        service_fn(name, move |_| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        })
        .significant(true)
    };
    let spec = SupervisorSpec::builder("jobs")
        .auto_shutdown(AutoShutdown::AllSignificant)
        .child(job("first", 200))
        .child(job("second", 500))
        .child(idle("monitor"))
        .build()
        .unwrap();
    let tree = start(spec).await;
    let started = tokio::time::Instant::now();
    tree.run_until_shutdown().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn a_nested_supervisor_with_auto_shutdown_ends_without_ending_its_parent() {
    let batch = SupervisorSpec::builder("batch")
        .auto_shutdown(AutoShutdown::AnySignificant)
        .child(service_fn("job", |_| async {}).significant(true))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .child(ChildSpec::supervisor(batch).with_restart(RestartPolicy::OnFailure))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    let state = tree.current_state().await;
    let batch = state.find("bot/batch").unwrap();
    assert_eq!(
        (batch.phase, batch.last_exit.as_deref()),
        (ServicePhase::Terminated, Some("completed"))
    );
    assert_eq!(state.find("bot/feed").unwrap().phase, ServicePhase::Running);
    assert!(!tree.is_shutting_down());
}

#[tokio::test(start_paused = true)]
async fn a_hung_child_is_caught_by_its_heartbeat_and_restarted() {
    let journal = Journal::new();
    let log = journal.clone();
    let feed = service_fn("feed", move |ctx: TaskContext| {
        let log = log.clone();
        async move {
            log.log(format!("start #{}", ctx.attempt()));
            for _ in 0..3 {
                ctx.heartbeat();
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            if ctx.attempt() == 1 {
                std::future::pending::<()>().await; // hangs without a heartbeat
            }
            while !ctx.is_cancelled() {
                ctx.heartbeat();
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        }
    })
    .with_heartbeat_timeout(Duration::from_secs(1))
    .with_backoff(plain_backoff(100, 100));
    let tree = start(SupervisorSpec::builder("bot").child(feed).build().unwrap()).await;
    run_for(10_000).await;
    // Last heartbeat at 800, silent for 1 s: caught at 1800, restarted 100 ms later.
    assert_eq!(journal.lines(), ["0 start #1", "1900 start #2"]);
    let snapshot = tree.lifecycle_snapshots().await.remove(0);
    assert_eq!(
        snapshot.last_error.as_deref(),
        Some("no heartbeat for 1.00s")
    );
    assert_eq!(snapshot.phase, ServicePhase::Running);
}

#[tokio::test(start_paused = true)]
async fn a_blocking_worker_that_ignores_cancellation_is_detached_and_reported() {
    let release = Arc::new(AtomicBool::new(false));
    // Lets the stubborn thread end even if an assertion fails, so the runtime can shut down.
    let _release_on_exit = ReleaseOnDrop(Arc::clone(&release));
    let finished = Arc::new(AtomicBool::new(false));
    let (hold, done) = (Arc::clone(&release), Arc::clone(&finished));
    let stubborn = blocking_fn("replay", move |_ctx| {
        while !hold.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        done.store(true, Ordering::SeqCst);
    });
    let cooperative = blocking_fn("archive", |ctx| {
        while !ctx.is_cancelled() {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let spec = SupervisorSpec::builder("bot")
        .shutdown_timeout(Duration::from_secs(1))
        .child(stubborn)
        .child(cooperative)
        .build()
        .unwrap();
    let before = alive_tasks();
    let tree = start(spec).await;
    let shutdown = tokio::spawn({
        let tree = tree.clone();
        async move { tree.shutdown_tree("test", "blocking").await }
    });
    // A running blocking task holds the paused clock; move it by hand past the timeout.
    while !tree.is_shutting_down() {
        tokio::task::yield_now().await;
    }
    // The cooperative worker sees the cancellation on its own thread; wait until it is gone.
    while tree
        .current_state()
        .await
        .find("bot/archive")
        .unwrap()
        .phase
        != ServicePhase::Terminated
    {
        tokio::task::yield_now().await;
    }
    tokio::time::advance(Duration::from_millis(1_001)).await;
    let report = shutdown.await.unwrap();
    let outcomes: Vec<_> = report
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("replay", StopOutcome::Detached),
            ("archive", StopOutcome::Graceful)
        ]
    );
    assert_eq!(
        tree.lifecycle_snapshots().await[0].termination_reason,
        Some(TerminationReason::Detached)
    );
    assert!(
        !finished.load(Ordering::SeqCst),
        "the detached worker was not waited for"
    );
    assert_eq!(alive_tasks(), before);
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_children_start_restart_one_and_shut_down_leaving_no_task() {
    let before = alive_tasks();
    let flaky = service_fn("c5000", |ctx: TaskContext| async move {
        if ctx.attempt() == 1 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Err(ServiceError::from("one failure"));
        }
        ctx.cancelled().await;
        Ok(())
    })
    .with_backoff(plain_backoff(50, 50));
    let children = (0..10_000).map(|i| {
        if i == 5_000 {
            flaky.clone()
        } else {
            service_fn(format!("c{i}"), |ctx| async move { ctx.cancelled().await })
        }
    });
    let spec = SupervisorSpec::builder("big")
        .children(children)
        .build()
        .unwrap();
    let tree = start(spec).await;
    assert_eq!(alive_tasks(), before + 10_001);
    run_for(1_000).await;
    let state = tree.current_state().await;
    assert_eq!(state.children.len(), 10_000);
    assert!(state.iter().all(|c| c.phase == ServicePhase::Running));
    assert_eq!(state.find("big/c5000").unwrap().attempt, 2);
    assert_eq!(tree.metrics().snapshot().restarts_total, 1);

    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(report.count(StopOutcome::Graceful), 10_000);
    assert_eq!(alive_tasks(), before);
}
