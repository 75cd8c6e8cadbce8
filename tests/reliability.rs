//! Regressions of the core's reliability: each test reproduces a way a control loop used to hang
//! or die, on the paused clock, and asserts the behaviour that replaced it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use supervisor::error::{SpawnError, SpecError, SupervisorError};
use supervisor::prelude::*;
use supervisor::{MAX_DURATION, MAX_NESTING_DEPTH, StopOutcome, SupervisorSpecBuilder, TreeState};

async fn start(spec: SupervisorSpec) -> SupervisorHandle {
    Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap()
}

/// Fails the test instead of hanging it: on the paused clock a dead loop lets time run out.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(3_600), future)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"))
}

fn phases_and_attempts(state: &TreeState) -> Vec<(String, ServicePhase, u32)> {
    state
        .iter()
        .map(|c| (c.path.clone(), c.phase, c.attempt))
        .collect()
}

// Symptom 1: a child whose stop from an earlier wave was still pending was counted again when
// the waves merged, so the merged group never saw all of its members stopped.
#[tokio::test(start_paused = true)]
async fn merged_restart_waves_with_a_pending_stop_still_restart() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .strategy(Strategy::RestForOne)
        .child(logged("e", &journal, Some(50), 0))
        .child(logged("f", &journal, Some(10), 0))
        .child(logged("m", &journal, None, 0))
        .child(logged("d", &journal, None, 100).after(["m"]))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    let state = within("current_state", tree.current_state()).await;
    let running_twice: Vec<_> = ["e", "f", "m", "d"]
        .iter()
        .map(|n| (format!("bot/{n}"), ServicePhase::Running, 2))
        .collect();
    assert_eq!(phases_and_attempts(&state), running_twice);
    assert_eq!(
        journal.lines(),
        [
            "0 start e#1",
            "0 start f#1",
            "0 start m#1",
            "0 start d#1",
            "10 stop f",
            "50 stop e",
            "110 stop d",
            "110 stop m",
            "110 start e#2",
            "110 start f#2",
            "110 start m#2",
            "110 start d#2",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_diamond_of_dependencies_restarts_after_overlapping_failures() {
    let journal = Journal::new();
    // b and c require a, d requires both; b also requires x. d takes 100 ms to stop, so b and
    // c wait.
    let spec = SupervisorSpec::builder("bot")
        .child(logged("x", &journal, Some(30), 0))
        .child(logged("a", &journal, Some(10), 0))
        .child(logged("b", &journal, None, 0).requires(["a", "x"]))
        .child(logged("c", &journal, None, 0).requires(["a"]))
        .child(logged("d", &journal, None, 100).requires(["b", "c"]))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    let state = within("current_state", tree.current_state()).await;
    let running_twice: Vec<_> = ["x", "a", "b", "c", "d"]
        .iter()
        .map(|n| (format!("bot/{n}"), ServicePhase::Running, 2))
        .collect();
    assert_eq!(phases_and_attempts(&state), running_twice);
}

// Symptom 2: a temporary significant child stopped with its restart scope is not its own exit,
// so it must not end the supervisor; the failed sibling restarts.
#[tokio::test(start_paused = true)]
async fn a_temporary_significant_child_stopped_for_a_restart_does_not_auto_shutdown() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .strategy(Strategy::OneForAll)
        .auto_shutdown(AutoShutdown::AnySignificant)
        .child(
            logged("job", &journal, None, 0)
                .with_restart(RestartPolicy::Never)
                .significant(true),
        )
        .child(logged("feed", &journal, Some(100), 0))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    let state = within("current_state", tree.current_state()).await;
    assert!(!tree.is_shutting_down());
    assert_eq!(
        phases_and_attempts(&state),
        [
            ("bot/job".to_owned(), ServicePhase::Terminated, 1),
            ("bot/feed".to_owned(), ServicePhase::Running, 2),
        ]
    );
    let report = within("shutdown_tree", tree.shutdown_tree("test", "done")).await;
    assert_eq!(report.count(StopOutcome::Graceful), 1);
}

// Symptom 3: durations beyond the timer's range panicked inside the loop.
#[test]
fn durations_past_the_bound_are_rejected_naming_the_field() {
    let long = MAX_DURATION + Duration::from_secs(1);
    let build = |child: ChildSpec| {
        SupervisorSpec::builder("bot")
            .child(child)
            .build()
            .map(|_| ())
    };
    let field = |result: Result<(), SpecError>| match result {
        Err(SpecError::Invalid { error, .. }) => error.field(),
        other => panic!("expected a field error, got {other:?}"),
    };
    let cases: Vec<(&str, ChildSpec)> = vec![
        (
            "readiness.timeout",
            idle("a").with_readiness(Readiness::Explicit { timeout: long }),
        ),
        (
            "backoff.max",
            idle("a").with_backoff(BackoffConfig::new(Duration::from_millis(1), Duration::MAX)),
        ),
        (
            "backoff.cooldown",
            idle("a").with_backoff(BackoffConfig::default().with_cooldown(long)),
        ),
        (
            "circuit_breaker.window",
            idle("a").with_backoff(BackoffConfig::default().with_circuit_breaker(3, long)),
        ),
        (
            "heartbeat.stale_after",
            idle("a").with_heartbeat_timeout(long),
        ),
        (
            "shutdown",
            idle("a").with_shutdown(ShutdownPolicy::Timeout(Duration::MAX)),
        ),
    ];
    for (expected, child) in cases {
        assert_eq!(field(build(child)), expected);
    }
    let header = |builder: SupervisorSpecBuilder| match builder.child(idle("a")).build() {
        Err(SpecError::Invalid { error, .. }) => error.field(),
        other => panic!("expected a field error, got {other:?}"),
    };
    assert_eq!(
        header(SupervisorSpec::builder("bot").intensity(3, long)),
        "intensity.within"
    );
    assert_eq!(
        header(SupervisorSpec::builder("bot").shutdown_timeout(Duration::MAX)),
        "shutdown_timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn the_longest_valid_backoff_keeps_the_loop_alive_past_the_timer_range() {
    let failures = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&failures);
    let feed = service_fn("feed", move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Err::<(), _>(ServiceError::from("refused")) }
    })
    .with_backoff(
        BackoffConfig::new(Duration::from_millis(1), MAX_DURATION)
            .with_jitter(Jitter::None)
            .without_circuit_breaker(),
    );
    let spec = SupervisorSpec::builder("bot")
        .without_intensity_limit()
        .child(feed)
        .build()
        .unwrap();
    let tree = start(spec).await;
    // 2^35 ms is past the bound: from the 36th failure on every delay is the bound itself.
    while failures.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(MAX_DURATION).await;
    }
    let state = within("current_state", tree.current_state()).await;
    assert_eq!(
        state.find("bot/feed").unwrap().phase,
        ServicePhase::BackingOff
    );
    within("shutdown_tree", tree.shutdown_tree("test", "done")).await;
}

#[tokio::test(start_paused = true)]
async fn the_imperative_front_door_applies_the_same_bounds() {
    let supervisor = Supervisor::new(test_config());
    let long = Readiness::Explicit {
        timeout: MAX_DURATION + Duration::from_secs(1),
    };
    let error = supervisor
        .spawn_service_with_options(
            service("a", RestartPolicy::Always, |_| async { Ok(()) }),
            SpawnOptions::new().with_readiness(long),
        )
        .unwrap_err();
    assert!(matches!(&error, SpawnError::InvalidConfig(e) if e.field() == "readiness.timeout"));
    let error = Supervisor::new(test_config().with_shutdown_timeout(Duration::MAX))
        .spawn_service(service("a", RestartPolicy::Always, |_| async { Ok(()) }))
        .unwrap_err();
    assert!(matches!(&error, SpawnError::InvalidConfig(e) if e.field() == "shutdown_timeout"));
}

// Symptom 4: one recursion per dependency link at startup.
#[test]
fn a_long_chain_of_dependencies_starts_without_recursion() {
    // A small stack, so that recursion per link would overflow long before the end.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async {
                let names: Vec<String> = (0..5_000).map(|i| format!("c{i}")).collect();
                let mut builder = SupervisorSpec::builder("bot");
                for (i, name) in names.iter().enumerate() {
                    let mut child = idle("x").with_name(name.as_str());
                    if i > 0 {
                        child = child.after([names[i - 1].as_str()]);
                    }
                    builder = builder.child(child);
                }
                let tree = start(builder.build().unwrap()).await;
                let state = tree.current_state().await;
                assert!(state.iter().all(|c| c.phase == ServicePhase::Running));
                let report = tree.shutdown_tree("test", "done").await;
                assert_eq!(report.count(StopOutcome::Graceful), 5_000);
            });
        })
        .unwrap()
        .join()
        .unwrap();
}

fn nested_chain(depth: usize) -> Result<SupervisorSpec, SpecError> {
    let mut spec = SupervisorSpec::builder("level")
        .child(idle("leaf"))
        .build()?;
    for _ in 1..depth {
        spec = SupervisorSpec::builder("level")
            .child(ChildSpec::supervisor(spec))
            .build()?;
    }
    Ok(spec)
}

#[test]
fn nesting_is_bounded_and_specs_at_the_bound_are_safe_to_use() {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024) // a test thread's default
        .spawn(|| {
            let deepest = nested_chain(MAX_NESTING_DEPTH).unwrap();
            let copy = deepest.clone();
            assert!(copy == deepest);
            assert!(format!("{deepest:?}").contains("leaf"));
            drop(copy);
            drop(deepest);
            match nested_chain(MAX_NESTING_DEPTH + 1) {
                Err(SpecError::TooDeep { depth, max, .. }) => {
                    assert_eq!((depth, max), (MAX_NESTING_DEPTH + 1, MAX_NESTING_DEPTH));
                }
                other => panic!("expected TooDeep, got {:?}", other.map(|_| ())),
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

// Symptom 5: shutdown reports and final state lost children of nested supervisors.
fn failing_forever(name: &'static str) -> ChildSpec {
    service_fn(name, |_| async { Err::<(), _>(ServiceError::from("down")) })
        .with_backoff(plain_backoff(10, 10))
}

#[tokio::test(start_paused = true)]
async fn the_report_lists_children_of_a_nested_supervisor_backing_off_after_escalating() {
    let inner = SupervisorSpec::builder("inner")
        .intensity(1, Duration::from_secs(10))
        .child(failing_forever("flaky"))
        .child(idle("calm"))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        .without_intensity_limit()
        .child(idle("feed"))
        .child(ChildSpec::supervisor(inner).with_backoff(plain_backoff(60_000, 60_000)))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    let state = tree.current_state().await;
    assert_eq!(
        state.find("bot/inner").unwrap().phase,
        ServicePhase::BackingOff
    );
    assert!(state.find("bot/inner/calm").is_some());
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(
        outcomes(&report),
        [
            ("bot/feed", StopOutcome::Graceful),
            ("bot/inner", StopOutcome::NotRunning),
            ("bot/inner/flaky", StopOutcome::NotRunning),
            ("bot/inner/calm", StopOutcome::NotRunning),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_report_lists_children_of_a_nested_supervisor_that_never_started() {
    let inner = SupervisorSpec::builder("inner")
        .child(idle("router"))
        .child(
            SupervisorSpec::builder("deeper")
                .child(idle("fills"))
                .build()
                .map(ChildSpec::supervisor)
                .unwrap(),
        )
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        // Ends before it is ready, for good: its dependents never start.
        .child(
            service_fn("loader", |_| async {})
                .with_restart(RestartPolicy::Never)
                .with_readiness(Readiness::Explicit {
                    timeout: Duration::from_secs(1),
                }),
        )
        .child(ChildSpec::supervisor(inner).after(["loader"]))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(100).await;
    let report = tree.shutdown_tree("test", "done").await;
    let paths: Vec<_> = report.services.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "bot/loader",
            "bot/inner",
            "bot/inner/router",
            "bot/inner/deeper",
            "bot/inner/deeper/fills"
        ]
    );
    assert_eq!(report.count(StopOutcome::NotRunning), 5, "{report:?}");
    let state = tree.current_state().await;
    assert_eq!(
        state.find("bot/inner/deeper/fills").unwrap().phase,
        ServicePhase::Terminated
    );
}

fn stubborn(name: &'static str) -> ChildSpec {
    service_fn(name, |_| std::future::pending::<()>())
}

#[tokio::test(start_paused = true)]
async fn aborting_a_nested_supervisor_still_reconciles_its_children() {
    for policy in [
        ShutdownPolicy::BrutalKill,
        ShutdownPolicy::Timeout(Duration::from_millis(100)),
    ] {
        let inner = SupervisorSpec::builder("inner")
            .shutdown_timeout(Duration::from_secs(10))
            .child(idle("polite"))
            .child(stubborn("stubborn"))
            .build()
            .unwrap();
        let spec = SupervisorSpec::builder("bot")
            .child(ChildSpec::supervisor(inner).with_shutdown(policy))
            .build()
            .unwrap();
        let before = alive_tasks();
        let tree = start(spec).await;
        run_for(10).await;
        let report = within("shutdown_tree", tree.shutdown_tree("test", "done")).await;
        let entries = outcomes(&report);
        let polite = match policy {
            ShutdownPolicy::BrutalKill => StopOutcome::Aborted,
            _ => StopOutcome::Graceful,
        };
        assert_eq!(
            entries,
            [
                ("bot/inner", StopOutcome::Aborted),
                ("bot/inner/polite", polite),
                ("bot/inner/stubborn", StopOutcome::Aborted),
            ],
            "{policy:?}"
        );
        assert_eq!(tree.metrics().snapshot().active_services, 0, "{policy:?}");
        let state = tree.current_state().await;
        assert_eq!(state.iter().count(), 3, "{policy:?}");
        assert!(state.iter().all(|c| c.phase == ServicePhase::Terminated));
        drop(tree);
        tokio::task::yield_now().await;
        assert_eq!(alive_tasks(), before, "{policy:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_final_state_keeps_nested_children() {
    let inner = SupervisorSpec::builder("inner")
        .child(idle("router"))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        .child(ChildSpec::supervisor(inner))
        .build()
        .unwrap();
    let tree = start(spec).await;
    tree.shutdown_tree("test", "done").await;
    let state = tree.current_state().await;
    let router = state.find("bot/inner/router").expect("nested child kept");
    assert_eq!(router.phase, ServicePhase::Terminated);
    assert_eq!(router.last_exit.as_deref(), Some("cancelled"));
}

#[tokio::test(start_paused = true)]
async fn a_deep_tree_starts_reports_and_shuts_down_every_level() {
    let depth = MAX_NESTING_DEPTH;
    let tree = start(nested_chain(depth).unwrap()).await;
    let state = tree.current_state().await;
    assert_eq!(state.iter().count(), depth);
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(report.services.len(), depth);
    assert_eq!(report.count(StopOutcome::Graceful), depth);
    assert!(
        report
            .services
            .last()
            .unwrap()
            .path
            .ends_with("/level/leaf")
    );
}

// Symptom 6: a killed blocking worker's thread kept running while its next attempt started.
#[tokio::test(start_paused = true)]
async fn a_blocking_worker_killed_for_its_heartbeat_is_not_started_twice() {
    let release = Arc::new(AtomicBool::new(false));
    let _release_on_exit = ReleaseOnDrop(Arc::clone(&release));
    let probe = OverlapProbe::default();
    let (hold, attempts) = (Arc::clone(&release), probe.clone());
    let worker = blocking_fn("replay", move |ctx| {
        let _running = attempts.enter();
        if ctx.attempt() == 1 {
            // Hung: neither heartbeats nor looks at its token until released.
            while !hold.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
        } else {
            while !ctx.is_cancelled() {
                ctx.heartbeat();
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    })
    .with_heartbeat_timeout(Duration::from_millis(100))
    .with_backoff(plain_backoff(10, 10));
    let spec = SupervisorSpec::builder("bot")
        .child(worker)
        .build()
        .unwrap();
    let tree = start(spec).await;
    // A running blocking task holds the paused clock; move it by hand past the deadline.
    tokio::time::advance(Duration::from_millis(150)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    let replay = tree
        .current_state()
        .await
        .find("bot/replay")
        .unwrap()
        .clone();
    assert_eq!(replay.attempt, 1, "no second attempt while the thread runs");
    assert_eq!(replay.last_exit.as_deref(), Some("detached"));
    release.store(true, Ordering::SeqCst);
    while tree
        .current_state()
        .await
        .find("bot/replay")
        .unwrap()
        .attempt
        < 2
    {
        tokio::task::yield_now().await;
        tokio::time::advance(Duration::from_millis(1)).await;
    }
    assert!(!probe.overlapped());
    let replay = tree
        .current_state()
        .await
        .find("bot/replay")
        .unwrap()
        .clone();
    assert_eq!(replay.attempt, 2);
    within("shutdown_tree", tree.shutdown_tree("test", "done")).await;
}

#[tokio::test(start_paused = true)]
async fn a_blocking_worker_whose_restart_stop_timed_out_is_waited_for() {
    let release = Arc::new(AtomicBool::new(false));
    let _release_on_exit = ReleaseOnDrop(Arc::clone(&release));
    let probe = OverlapProbe::default();
    let (hold, attempts) = (Arc::clone(&release), probe.clone());
    let worker = blocking_fn("replay", move |ctx| {
        let _running = attempts.enter();
        let first = ctx.attempt() == 1;
        // The first attempt ignores its token until released.
        while !(ctx.is_cancelled() && (!first || hold.load(Ordering::SeqCst))) {
            std::thread::sleep(Duration::from_millis(1));
        }
    })
    .with_shutdown(ShutdownPolicy::Timeout(Duration::from_millis(100)));
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .strategy(Strategy::OneForAll)
        .child(worker)
        .child(logged("feed", &journal, Some(10), 0))
        .build()
        .unwrap();
    let tree = start(spec).await;
    tokio::time::advance(Duration::from_millis(10)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    tokio::time::advance(Duration::from_millis(200)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    let state = tree.current_state().await;
    let replay = state.find("bot/replay").unwrap();
    assert_eq!((replay.phase, replay.attempt), (ServicePhase::Stopping, 1));
    assert_eq!(replay.last_exit.as_deref(), Some("detached"));
    assert_eq!(
        state.find("bot/feed").unwrap().attempt,
        1,
        "the group waits"
    );
    release.store(true, Ordering::SeqCst);
    while tree.current_state().await.find("bot/feed").unwrap().attempt < 2 {
        tokio::task::yield_now().await;
        tokio::time::advance(Duration::from_millis(1)).await;
    }
    assert!(!probe.overlapped());
    assert_eq!(
        tree.current_state()
            .await
            .find("bot/replay")
            .unwrap()
            .attempt,
        2
    );
    within("shutdown_tree", tree.shutdown_tree("test", "done")).await;
}

// Symptom 7: adversarial panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("the payload's own drop panics");
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_payload_that_panics_on_drop_is_a_plain_failure() {
    let feed = service_fn("feed", |ctx: TaskContext| async move {
        if ctx.attempt() < 3 {
            std::panic::panic_any(Bomb);
        }
        ctx.cancelled().await;
    })
    .with_backoff(plain_backoff(10, 10));
    let spec = SupervisorSpec::builder("bot").child(feed).build().unwrap();
    let tree = start(spec).await;
    run_for(100).await;
    let state = within("current_state", tree.current_state()).await;
    let feed = state.find("bot/feed").unwrap();
    assert_eq!((feed.phase, feed.attempt), (ServicePhase::Running, 3));
    assert_eq!(
        feed.last_exit.as_deref(),
        Some("panicked: <non-string panic payload>")
    );
    within("shutdown_tree", tree.shutdown_tree("test", "done")).await;
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("dropped while aborted");
    }
}

#[tokio::test(start_paused = true)]
async fn an_aborted_attempt_whose_drop_panics_is_reported_aborted() {
    let stubborn = service_fn("stubborn", |_| async {
        let _guard = PanicOnDrop;
        std::future::pending::<()>().await;
    })
    .with_shutdown(ShutdownPolicy::Timeout(Duration::from_millis(100)));
    let spec = SupervisorSpec::builder("bot")
        .child(stubborn)
        .build()
        .unwrap();
    let tree = start(spec).await;
    let report = within("shutdown_tree", tree.shutdown_tree("test", "done")).await;
    assert_eq!(report.services[0].outcome, StopOutcome::Aborted);
}

// Symptom 8: input that used to be accepted.
#[tokio::test(start_paused = true)]
async fn an_event_capacity_past_the_bound_is_a_typed_error() {
    for capacity in [usize::MAX, 1 << 40] {
        let spec = SupervisorSpec::builder("bot")
            .child(idle("a"))
            .build()
            .unwrap();
        let config = test_config().with_event_capacity(capacity);
        match Supervisor::start_with_config(spec, config.clone()).await {
            Err(SupervisorError::InvalidConfig(error)) => {
                assert_eq!(error.field(), "event_capacity");
            }
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
        let error = Supervisor::new(config)
            .spawn_service(service("a", RestartPolicy::Always, |_| async { Ok(()) }))
            .unwrap_err();
        assert!(matches!(&error, SpawnError::InvalidConfig(e) if e.field() == "event_capacity"));
    }
}

#[test]
fn a_heartbeat_limit_on_a_supervisor_child_is_rejected() {
    let inner = SupervisorSpec::builder("inner")
        .child(idle("a"))
        .build()
        .unwrap();
    let error = SupervisorSpec::builder("bot")
        .child(ChildSpec::supervisor(inner).with_heartbeat_timeout(Duration::from_secs(1)))
        .build()
        .unwrap_err();
    match error {
        SpecError::Invalid { path, error } => {
            assert_eq!(
                (path.as_str(), error.field()),
                ("bot/inner", "heartbeat.stale_after")
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn names_with_a_slash_are_rejected_by_both_front_doors() {
    let error = SupervisorSpec::builder("bot")
        .child(idle("a/b"))
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, SpecError::Invalid { error, .. } if error.field() == "name"),
        "{error}"
    );
    let error = SupervisorSpec::builder("b/ot")
        .child(idle("a"))
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, SpecError::Invalid { error, .. } if error.field() == "name"),
        "{error}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let supervisor = Supervisor::new(test_config());
        let error = supervisor
            .spawn_service(service("a/b", RestartPolicy::Always, |_| async { Ok(()) }))
            .unwrap_err();
        assert!(
            matches!(&error, SpawnError::InvalidConfig(e) if e.field() == "name"),
            "{error}"
        );
    });
}

#[tokio::test(start_paused = true)]
async fn the_imperative_root_rejects_what_the_builder_rejects() {
    let any = || service("a", RestartPolicy::Always, |_| async { Ok(()) });
    let error = Supervisor::new(test_config().with_name(""))
        .spawn_service(any())
        .unwrap_err();
    assert!(
        matches!(&error, SpawnError::InvalidConfig(e) if e.field() == "name"),
        "{error}"
    );
    let error = Supervisor::new(test_config().with_shutdown_timeout(Duration::ZERO))
        .spawn_service(any())
        .unwrap_err();
    assert!(
        matches!(&error, SpawnError::InvalidConfig(e) if e.field() == "shutdown_timeout"),
        "{error}"
    );
    let supervisor = Supervisor::new(test_config().with_name(""));
    assert!(matches!(
        supervisor.run_until_shutdown().await,
        Err(SupervisorError::InvalidConfig(_))
    ));
}

// Defence in depth: a control loop that panics (a bug) hangs no caller and leaves no task.
#[tokio::test(start_paused = true)]
async fn a_panicking_root_loop_turns_every_call_into_a_typed_error() {
    let inner = SupervisorSpec::builder("inner")
        .child(idle("router"))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .child(ChildSpec::supervisor(inner))
        .build()
        .unwrap();
    let before = alive_tasks();
    let tree = start(spec).await;
    let pending = tokio::spawn({
        let tree = tree.clone();
        async move { tree.wait_for_drain().await }
    });
    run_for(10).await;
    tree.inject_loop_panic("bot");
    let report = within("pending wait_for_drain", pending).await.unwrap();
    assert!(
        report
            .internal_error
            .as_deref()
            .unwrap()
            .contains("injected fault")
    );
    assert_eq!(
        outcomes(&report),
        [
            ("bot/feed", StopOutcome::Lost),
            ("bot/inner", StopOutcome::Lost),
            ("bot/inner/router", StopOutcome::Lost),
        ]
    );
    match within("run_until_shutdown", tree.run_until_shutdown()).await {
        Err(SupervisorError::Internal(message)) => assert!(message.contains("injected fault")),
        other => panic!("expected Internal, got {other:?}"),
    }
    let state = within("current_state", tree.current_state()).await;
    assert_eq!(state.iter().count(), 3);
    assert!(state.iter().all(|c| c.phase == ServicePhase::Terminated));
    let again = within("shutdown_tree", tree.shutdown_tree("test", "after")).await;
    assert_eq!(again.count(StopOutcome::Lost), 3);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(alive_tasks(), before, "every task of the tree was aborted");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_nested_loop_is_its_parents_child_failure() {
    let journal = Journal::new();
    let inner = SupervisorSpec::builder("inner")
        .child(logged("router", &journal, None, 0))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .child(ChildSpec::supervisor(inner).with_backoff(plain_backoff(10, 10)))
        .build()
        .unwrap();
    let tree = start(spec).await;
    let baseline = alive_tasks();
    run_for(10).await;
    tree.inject_loop_panic("bot/inner");
    run_for(100).await;
    let state = within("current_state", tree.current_state()).await;
    let inner = state.find("bot/inner").unwrap();
    assert_eq!((inner.phase, inner.attempt), (ServicePhase::Running, 2));
    assert!(
        inner
            .last_exit
            .as_deref()
            .unwrap()
            .contains("injected fault"),
        "{inner:?}"
    );
    let router = state.find("bot/inner/router").unwrap();
    assert_eq!((router.phase, router.attempt), (ServicePhase::Running, 1));
    assert_eq!(
        journal.lines(),
        ["0 start router#1", "10 stop router", "20 start router#1"]
    );
    assert_eq!(alive_tasks(), baseline, "the old run's tasks are gone");
    let report = within("shutdown_tree", tree.shutdown_tree("test", "done")).await;
    assert_eq!(report.count(StopOutcome::Graceful), 3);
}

#[test]
fn counts_past_the_bound_are_rejected_naming_the_field() {
    let too_many = supervisor::MAX_FAILURE_COUNT + 1;
    let breaker = idle("a").with_backoff(
        BackoffConfig::default().with_circuit_breaker(too_many, Duration::from_secs(60)),
    );
    match SupervisorSpec::builder("bot").child(breaker).build() {
        Err(SpecError::Invalid { error, .. }) => {
            assert_eq!(error.field(), "circuit_breaker.max_failures");
        }
        other => panic!("expected a field error, got {:?}", other.map(|_| ())),
    }
    match SupervisorSpec::builder("bot")
        .intensity(too_many, Duration::from_secs(60))
        .child(idle("a"))
        .build()
    {
        Err(SpecError::Invalid { error, .. }) => {
            assert_eq!(error.field(), "intensity.max_restarts")
        }
        other => panic!("expected a field error, got {:?}", other.map(|_| ())),
    }
}
