//! Erlang/OTP's `lib/stdlib/test/supervisor_SUITE.erl`, ported to this crate: each test is
//! named after the OTP case it ports and asserts what that case asserts, on the paused clock.
//!
//! OTP terms map as: permanent / transient / temporary = `Always` / `OnFailure` / `Never`;
//! an exit with reason `normal` or `shutdown` = returning `Ok(())`; an abnormal exit = an
//! error (killing a child by path, OTP's `terminate/4`, is the test kit's `fail`); "fails to (re)start" = an attempt that fails at once; `{MaxR, MaxT}` =
//! `intensity(MaxR, MaxT)`; `brutal_kill` / a timeout / `infinity` = [`ShutdownPolicy`]; a
//! process that is gone = a terminated child (we keep it visible instead of removing it).
//! The cases about children added at run time and simple_one_for_one pools are ported at the
//! end (`child_adm`, `child_adm_simple`, `simple_one_for_one*`, `count_children`,
//! `do_not_save_child_specs_for_temporary_children`, `hanging_restart_loop_simple`), with
//! OTP's `terminate_child` as `pause_child` and `delete_child` as `remove_child`. Not ported:
//! code change, Erlang links and global names (they do not apply), start functions'
//! `ignore` and extra return values (a service has neither), and the memory and timing
//! scaling cases (memory under churn is `tests/churn.rs`; speed is measured in benchmarks).
//! Where we differ on purpose, the test says so, or stays with
//! `#[ignore = "documented difference: .."]`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use supervisor::error::{SpecError, SupervisorError};
use supervisor::prelude::*;
use supervisor::testing::TestKit;
use supervisor::{ChildCounts, ChildState, CommandError, TreeState};

const LONG: Duration = Duration::from_secs(3_600);

async fn start(spec: SupervisorSpec) -> SupervisorHandle {
    Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap()
}

/// A worker that runs until cancelled.
fn worker(name: &'static str) -> ChildSpec {
    service_fn(name, |ctx| async move { ctx.cancelled().await }).with_backoff(plain_backoff(1, 1))
}

/// A worker whose first attempt ends as `first` after 10 ms; later attempts run until
/// cancelled.
fn ends_once(name: &'static str, first: Result<(), &'static str>) -> ChildSpec {
    service_fn(name, move |ctx: TaskContext| async move {
        if ctx.attempt() == 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            return first.map_err(ServiceError::from);
        }
        ctx.cancelled().await;
        Ok(())
    })
    .with_backoff(plain_backoff(1, 1))
}

/// OTP's `supervisor_1:start_child(error)`: runs, and fails to start again after its first
/// exit (every later attempt fails at once).
fn fails_to_restart(name: &'static str, ends_after_ms: u64) -> ChildSpec {
    service_fn(name, move |ctx: TaskContext| async move {
        if ctx.attempt() > 1 {
            return Err(ServiceError::from("failed to start"));
        }
        tokio::time::sleep(Duration::from_millis(ends_after_ms)).await;
        Err(ServiceError::from("abnormal"))
    })
    .with_backoff(plain_backoff(1, 1))
}

fn child<'a>(state: &'a TreeState, path: &str) -> &'a ChildState {
    state
        .find(path)
        .unwrap_or_else(|| panic!("no {path} in {state}"))
}

fn phase_and_attempt(state: &TreeState, path: &str) -> (ServicePhase, u32) {
    let c = child(state, path);
    (c.phase, c.attempt)
}

fn one_child(restart: RestartPolicy, first: Result<(), &'static str>) -> SupervisorSpec {
    SupervisorSpec::builder("sup_test")
        .intensity(2, LONG)
        .child(ends_once("child1", first).with_restart(restart))
        .build()
        .unwrap()
}

async fn after_one_exit(
    restart: RestartPolicy,
    first: Result<(), &'static str>,
) -> (ServicePhase, u32) {
    let tree = start(one_child(restart, first)).await;
    run_for(100).await;
    let state = tree.current_state().await;
    assert!(!tree.is_shutting_down());
    phase_and_attempt(&state, "sup_test/child1")
}

// ---- sup_start -----------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn sup_start_normal() {
    let spec = SupervisorSpec::builder("sup_test")
        .intensity(2, LONG)
        .build()
        .unwrap();
    let tree = start(spec).await;
    let report = tree.shutdown_tree("test", "shutdown").await;
    assert!(report.services.is_empty());
}

#[test]
fn sup_start_error_return() {
    // An invalid init result is an error before anything starts.
    let error = SupervisorSpec::builder("sup_test")
        .intensity(2, Duration::ZERO)
        .child(worker("child1"))
        .build()
        .unwrap_err();
    assert!(matches!(error, SpecError::Invalid { .. }), "{error}");
}

#[test]
fn sup_flags() {
    assert!("none_for_one".parse::<Strategy>().is_err());
    assert!("sometimes".parse::<AutoShutdown>().is_err());
    // invalid_period: 0
    let error = SupervisorSpec::builder("sup_test")
        .intensity(2, Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, SpecError::Invalid { error, .. } if error.field() == "intensity.within")
    );
}

#[test]
#[ignore = "documented difference: OTP accepts an intensity of 0 (every restart fails the supervisor); we ask for at least 1, or no limit"]
fn sup_flags_intensity_zero() {
    assert!(
        SupervisorSpec::builder("sup_test")
            .intensity(0, LONG)
            .build()
            .is_ok()
    );
}

#[test]
fn child_specs() {
    // invalid_restart_type
    assert!("prmanent".parse::<RestartPolicy>().is_err());
    // invalid_shutdown
    let spec = |child: ChildSpec| {
        SupervisorSpec::builder("sup_test")
            .auto_shutdown(AutoShutdown::AnySignificant)
            .child(child)
            .build()
    };
    let field = |result: Result<SupervisorSpec, SpecError>| match result {
        Err(SpecError::Invalid { error, .. }) => error.field(),
        other => panic!("expected a field error, got {other:?}"),
    };
    assert_eq!(
        field(spec(
            worker("child").with_shutdown(ShutdownPolicy::Timeout(Duration::ZERO))
        )),
        "shutdown"
    );
    // duplicate_child_name
    let duplicate = SupervisorSpec::builder("sup_test")
        .child(worker("child"))
        .child(worker("child"))
        .build();
    assert!(matches!(duplicate, Err(SpecError::DuplicateName { .. })));
    // bad_combination: significant and permanent
    assert_eq!(
        field(spec(
            worker("child")
                .with_restart(RestartPolicy::Always)
                .significant(true)
        )),
        "significant"
    );
    // bad_combination: significant under auto_shutdown = never
    let never = SupervisorSpec::builder("sup_test")
        .child(
            worker("child")
                .with_restart(RestartPolicy::OnFailure)
                .significant(true),
        )
        .build();
    assert_eq!(field(never), "significant");
    // Correct child specs are accepted.
    for restart in [RestartPolicy::OnFailure, RestartPolicy::Never] {
        assert!(spec(worker("child").with_restart(restart).significant(true)).is_ok());
    }
    for shutdown in [
        ShutdownPolicy::Infinity,
        ShutdownPolicy::BrutalKill,
        ShutdownPolicy::Timeout(Duration::from_secs(1)),
    ] {
        assert!(spec(worker("child").with_shutdown(shutdown)).is_ok());
    }
}

// ---- sup_stop ------------------------------------------------------------------------------

/// A child that takes `drain` to stop after cancellation.
fn slow_to_stop(name: &'static str, drain: Duration) -> ChildSpec {
    service_fn(name, move |ctx: TaskContext| async move {
        ctx.cancelled().await;
        tokio::time::sleep(drain).await;
    })
}

#[tokio::test(start_paused = true)]
async fn sup_stop_infinity() {
    let inner = SupervisorSpec::builder("child1")
        .child(worker("w"))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("sup_test")
        .child(ChildSpec::supervisor(inner).with_shutdown(ShutdownPolicy::Infinity))
        .child(
            slow_to_stop("child2", Duration::from_secs(20)).with_shutdown(ShutdownPolicy::Infinity),
        )
        .build()
        .unwrap();
    let tree = start(spec).await;
    let report = tree.shutdown_tree("test", "shutdown").await;
    assert_eq!(report.count(StopOutcome::Graceful), 3);
    assert!(
        report.duration >= Duration::from_secs(20),
        "infinity waits: {report}"
    );
}

#[tokio::test(start_paused = true)]
async fn sup_stop_timeout() {
    let spec = SupervisorSpec::builder("sup_test")
        .child(worker("child1").with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(1))))
        .child(
            slow_to_stop("child2", Duration::from_secs(200))
                .with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(1))),
        )
        .build()
        .unwrap();
    let tree = start(spec).await;
    let report = tree.shutdown_tree("test", "shutdown").await;
    let outcomes: Vec<_> = report.services.iter().map(|s| s.outcome).collect();
    assert_eq!(outcomes, [StopOutcome::Graceful, StopOutcome::Aborted]);
    assert_eq!(report.duration, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn sup_stop_brutal_kill() {
    let spec = SupervisorSpec::builder("sup_test")
        .child(worker("child1").with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(1))))
        .child(worker("child2").with_shutdown(ShutdownPolicy::BrutalKill))
        .build()
        .unwrap();
    let tree = start(spec).await;
    let report = tree.shutdown_tree("test", "shutdown").await;
    let outcomes: Vec<_> = report.services.iter().map(|s| s.outcome).collect();
    assert_eq!(outcomes, [StopOutcome::Graceful, StopOutcome::Aborted]);
}

// ---- normal, shutdown and abnormal termination ---------------------------------------------

#[tokio::test(start_paused = true)]
async fn permanent_normal() {
    assert_eq!(
        after_one_exit(RestartPolicy::Always, Ok(())).await,
        (ServicePhase::Running, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn transient_normal() {
    assert_eq!(
        after_one_exit(RestartPolicy::OnFailure, Ok(())).await,
        (ServicePhase::Terminated, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn temporary_normal() {
    assert_eq!(
        after_one_exit(RestartPolicy::Never, Ok(())).await,
        (ServicePhase::Terminated, 1)
    );
}

/// OTP's `shutdown` exit reason: for us an attempt that returns `Ok(())` on its own, so these
/// are the `_normal` cases again, twice in a row as OTP does (`shutdown`, then
/// `{shutdown, some_info}`).
async fn exits_cleanly_twice(restart: RestartPolicy) -> TreeState {
    let exits = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&exits);
    let child = service_fn("child1", move |ctx: TaskContext| {
        let counted = Arc::clone(&counted);
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if counted.fetch_add(1, Ordering::SeqCst) < 2 {
                return;
            }
            ctx.cancelled().await;
        }
    })
    .with_restart(restart)
    .with_backoff(plain_backoff(1, 1));
    let spec = SupervisorSpec::builder("sup_test")
        .intensity(2, LONG)
        .child(child)
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(100).await;
    tree.current_state().await
}

#[tokio::test(start_paused = true)]
async fn permanent_shutdown() {
    let state = exits_cleanly_twice(RestartPolicy::Always).await;
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child1"),
        (ServicePhase::Running, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn transient_shutdown() {
    let state = exits_cleanly_twice(RestartPolicy::OnFailure).await;
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child1"),
        (ServicePhase::Terminated, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn temporary_shutdown() {
    let state = exits_cleanly_twice(RestartPolicy::Never).await;
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child1"),
        (ServicePhase::Terminated, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_abnormal() {
    assert_eq!(
        after_one_exit(RestartPolicy::Always, Err("abnormal")).await,
        (ServicePhase::Running, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn transient_abnormal() {
    assert_eq!(
        after_one_exit(RestartPolicy::OnFailure, Err("abnormal")).await,
        (ServicePhase::Running, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn temporary_abnormal() {
    assert_eq!(
        after_one_exit(RestartPolicy::Never, Err("abnormal")).await,
        (ServicePhase::Terminated, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn temporary_bystander() {
    for strategy in [Strategy::OneForAll, Strategy::RestForOne] {
        let spec = SupervisorSpec::builder("sup_test")
            .strategy(strategy)
            .intensity(2, Duration::from_millis(300))
            .child(ends_once("child1", Ok(())).with_restart(RestartPolicy::Always))
            .child(worker("child2").with_restart(RestartPolicy::Never))
            .build()
            .unwrap();
        let tree = start(spec).await;
        run_for(350).await;
        assert!(
            !tree.is_shutting_down(),
            "{strategy}: the supervisor is alive"
        );
        let state = tree.current_state().await;
        assert_eq!(
            phase_and_attempt(&state, "sup_test/child1"),
            (ServicePhase::Running, 2)
        );
        assert_eq!(
            phase_and_attempt(&state, "sup_test/child2"),
            (ServicePhase::Terminated, 1),
            "{strategy}: child2 has not been restarted"
        );
    }
}

// ---- restart strategies --------------------------------------------------------------------

/// Starts `spec` under a test kit, which kills its children by path.
async fn start_kit(spec: SupervisorSpec) -> TestKit {
    TestKit::start_with_config(spec, test_config())
        .await
        .unwrap()
}

/// OTP's `terminate(Pid, abnormal)`: the child at `path` exits abnormally; the tree then has
/// 50 ms to act on it.
async fn kill(kit: &mut TestKit, path: &str) {
    kit.fail(path, "abnormal");
    kit.advance(Duration::from_millis(50)).await;
}

#[tokio::test(start_paused = true)]
async fn multiple_restarts() {
    let spec = SupervisorSpec::builder("sup_test")
        .intensity(1, Duration::from_secs(1))
        .child(worker("child1").with_shutdown(ShutdownPolicy::BrutalKill))
        .build()
        .unwrap();
    let mut kit = start_kit(spec).await;
    kill(&mut kit, "sup_test/child1").await;
    for _ in 0..3 {
        kit.advance(Duration::from_millis(2_100)).await;
        kill(&mut kit, "sup_test/child1").await;
    }
    assert!(
        !kit.tree().is_shutting_down(),
        "never more than one restart per second"
    );
    let state = kit.tree().current_state().await;
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child1"),
        (ServicePhase::Running, 5)
    );
}

async fn three_failures_exceed_the_intensity(strategy: Strategy) {
    let spec = SupervisorSpec::builder("sup_test")
        .strategy(strategy)
        .intensity(2, LONG)
        .child(worker("child1"))
        .child(worker("child2"))
        .build()
        .unwrap();
    let mut kit = start_kit(spec).await;
    kill(&mut kit, "sup_test/child1").await;
    let state = kit.tree().current_state().await;
    let expected_child2 = match strategy {
        Strategy::OneForOne => 1,
        _ => 2,
    };
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child1"),
        (ServicePhase::Running, 2)
    );
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child2"),
        (ServicePhase::Running, expected_child2)
    );
    kill(&mut kit, "sup_test/child2").await;
    assert!(!kit.tree().is_shutting_down());
    kill(&mut kit, "sup_test/child1").await;
    match kit.tree().run_until_shutdown().await {
        Err(SupervisorError::Escalated(escalation)) => {
            assert_eq!(escalation.max_restarts, 2);
        }
        other => panic!("{strategy}: expected the supervisor to exit, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn one_for_one() {
    three_failures_exceed_the_intensity(Strategy::OneForOne).await;
}

#[tokio::test(start_paused = true)]
async fn one_for_all() {
    three_failures_exceed_the_intensity(Strategy::OneForAll).await;
}

async fn escalation(strategy: Strategy, failing_first: bool) {
    let mut builder = SupervisorSpec::builder("sup_test")
        .strategy(strategy)
        .intensity(4, LONG);
    builder = if failing_first {
        builder
            .child(fails_to_restart("child1", 10))
            .child(worker("child2"))
    } else {
        // child1 dies once; child2 then fails to restart with it.
        builder
            .child(ends_once("child1", Err("abnormal")))
            .child(fails_to_restart("child2", 1_000_000))
    };
    let tree = start(builder.build().unwrap()).await;
    exits_with_every_child(&tree, &strategy.to_string()).await;
}

/// The supervisor gives up, and every child of it is gone.
async fn exits_with_every_child(tree: &SupervisorHandle, case: &str) {
    let result = tree.run_until_shutdown().await;
    assert!(
        matches!(result, Err(SupervisorError::Escalated(_))),
        "{case}: {result:?}"
    );
    let state = tree.current_state().await;
    assert!(
        state.iter().all(|c| c.phase == ServicePhase::Terminated),
        "{case}: every child is gone: {state}"
    );
}

#[tokio::test(start_paused = true)]
async fn one_for_one_escalation() {
    escalation(Strategy::OneForOne, true).await;
}

#[tokio::test(start_paused = true)]
async fn one_for_all_escalation() {
    escalation(Strategy::OneForAll, false).await;
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_escalation() {
    escalation(Strategy::RestForOne, false).await;
}

/// child1 dies; while the group restarts, child2's new attempt fails to start.
fn other_child_fails_restart(strategy: Strategy, journal: &Journal) -> SupervisorSpec {
    let log = journal.clone();
    let child2 = service_fn("child2", move |ctx: TaskContext| {
        let log = log.clone();
        async move {
            log.log(format!("start child2#{}", ctx.attempt()));
            if ctx.attempt() == 2 {
                return Err(ServiceError::from("failed to start"));
            }
            ctx.cancelled().await;
            Ok(())
        }
    })
    .with_backoff(plain_backoff(1, 1));
    SupervisorSpec::builder("sup_test")
        .strategy(strategy)
        .intensity(3, LONG)
        .child(logged("child1", journal, Some(10), 0).with_backoff(plain_backoff(1, 1)))
        .child(child2)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn one_for_all_other_child_fails_restart() {
    let journal = Journal::new();
    let tree = start(other_child_fails_restart(Strategy::OneForAll, &journal)).await;
    run_for(100).await;
    // The restarted child1 is stopped again and the whole restart is retried.
    let state = tree.current_state().await;
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child1"),
        (ServicePhase::Running, 3)
    );
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child2"),
        (ServicePhase::Running, 3)
    );
    assert!(
        journal.lines().contains(&"11 stop child1".to_owned()),
        "{:?}",
        journal.lines()
    );
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_other_child_fails_restart() {
    let journal = Journal::new();
    let tree = start(other_child_fails_restart(Strategy::RestForOne, &journal)).await;
    run_for(100).await;
    // Only child2, started after child1, is restarted again: child1 keeps its new attempt.
    let state = tree.current_state().await;
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child1"),
        (ServicePhase::Running, 2)
    );
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child2"),
        (ServicePhase::Running, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn rest_for_one() {
    let spec = SupervisorSpec::builder("sup_test")
        .strategy(Strategy::RestForOne)
        .intensity(2, LONG)
        .child(worker("child1"))
        .child(worker("child2"))
        .child(worker("child3"))
        .build()
        .unwrap();
    let mut kit = start_kit(spec).await;
    kill(&mut kit, "sup_test/child2").await;
    let state = kit.tree().current_state().await;
    let attempts: Vec<u32> = state.iter().map(|c| c.attempt).collect();
    assert_eq!(
        attempts,
        [1, 2, 2],
        "child3 died with child2, child1 did not"
    );
    kill(&mut kit, "sup_test/child3").await;
    assert!(!kit.tree().is_shutting_down());
    kill(&mut kit, "sup_test/child2").await;
    assert!(matches!(
        kit.tree().run_until_shutdown().await,
        Err(SupervisorError::Escalated(_))
    ));
}

// ---- trees ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn tree() {
    let sup1 = SupervisorSpec::builder("supchild1")
        .intensity(4, LONG)
        .child(worker("child1"))
        .child(worker("child2"))
        .build()
        .unwrap();
    let sup2 = SupervisorSpec::builder("supchild2")
        .intensity(4, LONG)
        .child(fails_to_restart("child3", 1_000))
        .child(worker("child4"))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("sup_test")
        .strategy(Strategy::OneForAll)
        .intensity(4, LONG)
        .child(ChildSpec::supervisor(sup1).with_backoff(plain_backoff(1, 1)))
        .child(ChildSpec::supervisor(sup2).with_backoff(plain_backoff(1, 1)))
        .build()
        .unwrap();
    let mut kit = start_kit(spec).await;
    // Only the process that dies is restarted.
    kill(&mut kit, "sup_test/supchild2/child4").await;
    let state = kit.tree().current_state().await;
    let attempts: Vec<(&str, u32)> = state.iter().map(|c| (c.path.as_str(), c.attempt)).collect();
    assert_eq!(
        attempts,
        [
            ("sup_test/supchild1", 1),
            ("sup_test/supchild1/child1", 1),
            ("sup_test/supchild1/child2", 1),
            ("sup_test/supchild2", 1),
            ("sup_test/supchild2/child3", 1),
            ("sup_test/supchild2/child4", 2),
        ]
    );
    // child3 dies and cannot restart: supchild2 gives up, and the one_for_all top restarts
    // both child supervisors, each with a fresh set of children.
    run_for(1_000).await;
    let state = kit.tree().current_state().await;
    assert!(!kit.tree().is_shutting_down());
    for (path, attempt) in [
        ("sup_test/supchild1", 2),
        ("sup_test/supchild2", 2),
        ("sup_test/supchild1/child1", 1),
        ("sup_test/supchild1/child2", 1),
        ("sup_test/supchild2/child3", 1),
    ] {
        assert_eq!(
            phase_and_attempt(&state, path),
            (ServicePhase::Running, attempt),
            "{path}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn hanging_restart_loop() {
    // A child that keeps failing to start does not make its supervisor unresponsive.
    let spec = SupervisorSpec::builder("sup_test")
        .without_intensity_limit()
        .child(
            service_fn("child1", |_| async {
                Err::<(), _>(ServiceError::from("failed to start"))
            })
            .with_backoff(plain_backoff(1, 1)),
        )
        .child(worker("bystander"))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(500).await;
    let state = tree.current_state().await;
    assert!(child(&state, "sup_test/child1").attempt > 100);
    assert_eq!(
        child(&state, "sup_test/bystander").phase,
        ServicePhase::Running
    );
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(report.count(StopOutcome::Graceful), 1);
}

// ---- significant children ------------------------------------------------------------------

fn auto(auto_shutdown: AutoShutdown, children: Vec<ChildSpec>) -> SupervisorSpec {
    SupervisorSpec::builder("sup_test")
        .intensity(2, LONG)
        .auto_shutdown(auto_shutdown)
        .children(children)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn nonsignificant_temporary() {
    for first in [Ok(()), Err("abnormal")] {
        let tree = start(auto(
            AutoShutdown::AnySignificant,
            vec![ends_once("child1", first).with_restart(RestartPolicy::Never)],
        ))
        .await;
        run_for(100).await;
        assert!(!tree.is_shutting_down(), "{first:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn nonsignificant_transient() {
    for first in [Ok(()), Err("abnormal")] {
        let tree = start(auto(
            AutoShutdown::AnySignificant,
            vec![ends_once("child1", first).with_restart(RestartPolicy::OnFailure)],
        ))
        .await;
        run_for(100).await;
        assert!(!tree.is_shutting_down(), "{first:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn significant_temporary() {
    for auto_shutdown in [AutoShutdown::AnySignificant, AutoShutdown::AllSignificant] {
        for first in [Ok(()), Err("abnormal")] {
            let tree = start(auto(
                auto_shutdown,
                vec![
                    ends_once("child1", first)
                        .with_restart(RestartPolicy::Never)
                        .significant(true),
                ],
            ))
            .await;
            let report = tree.wait_for_drain().await;
            assert!(
                report.reason.starts_with("auto-shutdown"),
                "{auto_shutdown} {first:?}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn significant_transient() {
    let tree = start(auto(
        AutoShutdown::AnySignificant,
        vec![
            ends_once("child1", Err("abnormal"))
                .with_restart(RestartPolicy::OnFailure)
                .significant(true),
        ],
    ))
    .await;
    run_for(100).await;
    assert!(!tree.is_shutting_down(), "an abnormal exit restarts it");
    let tree = start(auto(
        AutoShutdown::AnySignificant,
        vec![
            ends_once("child1", Ok(()))
                .with_restart(RestartPolicy::OnFailure)
                .significant(true),
        ],
    ))
    .await;
    let report = tree.wait_for_drain().await;
    assert!(report.reason.starts_with("auto-shutdown"), "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn significant_bystander() {
    // A significant child terminated as a bystander of a one_for_all restart is not an exit of
    // its own: the supervisor does not shut down.
    let tree = start(
        SupervisorSpec::builder("sup_test")
            .strategy(Strategy::OneForAll)
            .intensity(2, LONG)
            .auto_shutdown(AutoShutdown::AnySignificant)
            .child(ends_once("child1", Ok(())).with_restart(RestartPolicy::Always))
            .child(
                worker("child2")
                    .with_restart(RestartPolicy::Never)
                    .significant(true),
            )
            .build()
            .unwrap(),
    )
    .await;
    run_for(100).await;
    assert!(!tree.is_shutting_down());
    let state = tree.current_state().await;
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child1"),
        (ServicePhase::Running, 2)
    );
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child2"),
        (ServicePhase::Terminated, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn significant_escalation() {
    // A nested supervisor that shuts itself down is itself a significant transient child of
    // its parent: the auto-shutdown travels up.
    let inner = SupervisorSpec::builder("child_sup")
        .auto_shutdown(AutoShutdown::AnySignificant)
        .child(
            ends_once("child1", Ok(()))
                .with_restart(RestartPolicy::Never)
                .significant(true),
        )
        .build()
        .unwrap();
    let tree = start(
        SupervisorSpec::builder("sup_test")
            .auto_shutdown(AutoShutdown::AnySignificant)
            .child(
                ChildSpec::supervisor(inner)
                    .with_restart(RestartPolicy::OnFailure)
                    .significant(true),
            )
            .child(worker("bystander"))
            .build()
            .unwrap(),
    )
    .await;
    let report = tree.wait_for_drain().await;
    assert_eq!(
        report.reason,
        "auto-shutdown: significant child `child_sup` terminated"
    );
}

// ---- documented differences ----------------------------------------------------------------

#[tokio::test(start_paused = true)]
#[ignore = "documented difference: OTP restarts a terminated (transient, exited normally) child with a one_for_all group; a terminated child stays terminated here, so a group restart never revives a child whose breaker opened or that finished its work"]
async fn one_for_all_restarts_terminated_children() {
    let spec = SupervisorSpec::builder("sup_test")
        .strategy(Strategy::OneForAll)
        .child(ends_once("child1", Ok(())).with_restart(RestartPolicy::OnFailure))
        .child(worker("child2"))
        .build()
        .unwrap();
    let mut kit = start_kit(spec).await;
    kit.advance(Duration::from_millis(100)).await;
    kill(&mut kit, "sup_test/child2").await;
    let state = kit.tree().current_state().await;
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child1"),
        (ServicePhase::Running, 2)
    );
}

#[tokio::test(start_paused = true)]
#[ignore = "documented difference: OTP starts children one at a time, each init returning before the next starts; here children without `after` start together, and explicit readiness holds back only the children that depend on it"]
async fn children_start_one_at_a_time() {
    let journal = Journal::new();
    let log = journal.clone();
    let slow = service_fn("child1", move |ctx: TaskContext| {
        let log = log.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            log.log("child1 ready");
            ctx.ready();
            ctx.cancelled().await;
        }
    })
    .with_readiness(Readiness::Explicit {
        timeout: Duration::from_secs(1),
    });
    let spec = SupervisorSpec::builder("sup_test")
        .child(slow)
        .child(logged("child2", &journal, None, 0))
        .build()
        .unwrap();
    let _tree = start(spec).await;
    run_for(200).await;
    assert_eq!(journal.lines(), ["100 child1 ready", "100 start child2#1"]);
}

/// OTP `count_children`: a simple_one_for_one pool of temporary workers, 1,000 then 2,000
/// started, all killed. OTP counts the pool's one template as its `specs`; here `specs` counts
/// the children there are (a pool has no spec of its own among them).
#[tokio::test(start_paused = true)]
async fn count_children() {
    let kill = tokio_util::sync::CancellationToken::new();
    let signal = kill.clone();
    let pool = ChildSpec::pool("sup_test", 2_000, move |(): ()| {
        let kill = signal.clone();
        service_fn("child", move |ctx: TaskContext| {
            let kill = kill.clone();
            async move {
                tokio::select! {
                    _ = ctx.cancelled() => Ok(()),
                    _ = kill.cancelled() => Err(ServiceError::from("killed")),
                }
            }
        })
        .with_restart(RestartPolicy::Never)
    });
    let tree = start(SupervisorSpec::builder("root").child(pool).build().unwrap()).await;
    let counts = |specs, active, supervisors, workers| supervisor::ChildCounts {
        specs,
        active,
        supervisors,
        workers,
    };
    for _ in 0..1_000 {
        tree.start_child("root/sup_test", (), "test", "start")
            .await
            .unwrap();
    }
    assert_eq!(
        tree.count_children("root/sup_test").await.unwrap(),
        counts(1_000, 1_000, 0, 1_000)
    );
    for _ in 0..1_000 {
        tree.start_child("root/sup_test", (), "test", "start")
            .await
            .unwrap();
    }
    let twice = tree.count_children("root/sup_test").await.unwrap();
    assert_eq!(twice, counts(2_000, 2_000, 0, 2_000));
    assert_eq!(tree.count_children("root/sup_test").await.unwrap(), twice);
    kill.cancel();
    run_for(10).await;
    assert_eq!(
        tree.count_children("root/sup_test").await.unwrap(),
        counts(0, 0, 0, 0)
    );
    assert_eq!(
        tree.count_children("root").await.unwrap(),
        counts(1, 1, 1, 0)
    );
}

/// OTP `temporary_normal` / `temporary_abnormal` for dynamic children: a temporary child
/// that ends is gone (OTP deletes it; here its slot is released), and may be started again.
#[tokio::test(start_paused = true)]
async fn temporary_dynamic_child_is_deleted_when_it_ends() {
    let spec = SupervisorSpec::builder("root")
        .max_dynamic_children(1)
        .build()
        .unwrap();
    let tree = start(spec).await;
    let once = || service_fn("child1", |_| async {}).with_restart(RestartPolicy::Never);
    tree.add_child("root", once(), "test", "start")
        .await
        .unwrap();
    run_for(10).await;
    assert!(tree.current_state().await.find("root/child1").is_none());
    tree.add_child("root", once(), "test", "again")
        .await
        .unwrap();
}

// ---- child administration (children added at run time) -------------------------------------

/// `result` is the `CommandError` variant named (the whole result is shown otherwise).
macro_rules! refused {
    ($result:expr, $variant:ident) => {{
        let result = $result;
        assert!(
            matches!(result, Err(CommandError::$variant { .. })),
            "{result:?}"
        );
    }};
}

fn counts(specs: usize, active: usize, supervisors: usize, workers: usize) -> ChildCounts {
    ChildCounts {
        specs,
        active,
        supervisors,
        workers,
    }
}

/// OTP `child_adm` and `extra_return`'s error cases. OTP's `terminate_child` is
/// `pause_child` here (the child stays, stopped, until restarted), `delete_child` is
/// `remove_child`. Two documented differences: `restart_child` on a running child restarts
/// it (OTP answers `{error, running}`), and only children added at run time can be removed
/// (a declared child is part of the spec; OTP deletes declared children too).
#[tokio::test(start_paused = true)]
async fn child_adm() {
    let spec = SupervisorSpec::builder("sup_test")
        .intensity(2, LONG)
        .max_dynamic_children(2)
        .child(worker("child1"))
        .build()
        .unwrap();
    let tree = start(spec).await;
    let who = ("test", "child_adm");
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(1, 1, 0, 1)
    );
    // Start of an already running child: {error, {already_started, _}}.
    refused!(
        tree.add_child("sup_test", worker("child1"), who.0, who.1)
            .await,
        DuplicateName
    );
    // Termination: {error, not_found}, then ok, then ok again.
    refused!(
        tree.pause_child("sup_test/hej", who.0, who.1).await,
        UnknownPath
    );
    refused!(
        tree.pause_child("foo/child1", who.0, who.1).await,
        UnknownPath
    );
    let paused = tree
        .pause_child("sup_test/child1", who.0, who.1)
        .await
        .unwrap();
    assert!(paused.changed);
    run_for(10).await;
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(1, 0, 0, 1)
    );
    let twice = tree
        .pause_child("sup_test/child1", who.0, who.1)
        .await
        .unwrap();
    assert_eq!((twice.changed, twice.phase), (false, ServicePhase::Paused));
    // Start of an existing child that is not running: {error, already_present}.
    refused!(
        tree.add_child("sup_test", worker("child1"), who.0, who.1)
            .await,
        DuplicateName
    );
    // Restart.
    tree.restart_child("sup_test/child1", who.0, who.1)
        .await
        .unwrap();
    run_for(10).await;
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(1, 1, 0, 1)
    );
    let state = tree.current_state().await;
    assert_eq!(
        phase_and_attempt(&state, "sup_test/child1"),
        (ServicePhase::Running, 2)
    );
    refused!(
        tree.restart_child("sup_test/child2", who.0, who.1).await,
        UnknownPath
    );
    // Deletion: a declared child stays (documented difference).
    refused!(
        tree.remove_child("sup_test/child1", who.0, who.1).await,
        NotAllowed
    );
    refused!(
        tree.remove_child("sup_test/hej", who.0, who.1).await,
        UnknownPath
    );
    // A child added at run time: started, deleted, unknown after, and added again.
    tree.add_child("sup_test", worker("child3"), who.0, who.1)
        .await
        .unwrap();
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(2, 2, 0, 2)
    );
    tree.remove_child("sup_test/child3", who.0, who.1)
        .await
        .unwrap();
    run_for(10).await;
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(1, 1, 0, 1)
    );
    refused!(
        tree.restart_child("sup_test/child3", who.0, who.1).await,
        UnknownPath
    );
    assert!(tree.current_state().await.find("sup_test/child3").is_none());
    tree.add_child("sup_test", worker("child3"), who.0, who.1)
        .await
        .unwrap();
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(2, 2, 0, 2)
    );
    refused!(tree.count_children("foo").await, UnknownPath);
}

/// A pool of workers that run until cancelled (or killed); the pool is the tree's root, as
/// OTP's `sup_test` is.
fn worker_pool(intensity: u32, max: usize) -> SupervisorSpec {
    SupervisorSpec::builder("sup_test")
        .intensity(intensity, LONG)
        .pool(max, |(): ()| {
            worker("child").with_restart(RestartPolicy::Always)
        })
        .build()
        .unwrap()
}

/// Starts a pool child; its path.
async fn start_pooled(tree: &SupervisorHandle) -> String {
    let receipt = tree.start_child("sup_test", (), "test", "start").await;
    receipt.unwrap().path
}

/// OTP `child_adm_simple`. OTP counts the pool's template as one spec; here `specs` counts
/// children. OTP's `terminate_child(Pid)` is `remove_child(path)`; a second one gets an
/// unknown path (OTP answers `ok` for a process that is gone).
#[tokio::test(start_paused = true)]
async fn child_adm_simple() {
    let tree = start(worker_pool(2, 10)).await;
    let who = ("test", "child_adm_simple");
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(0, 0, 0, 0)
    );
    let first = start_pooled(&tree).await;
    assert_eq!(first, "sup_test/1");
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(1, 1, 0, 1)
    );
    let second = start_pooled(&tree).await;
    assert_eq!(second, "sup_test/2");
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(2, 2, 0, 2)
    );
    tree.remove_child(&first, who.0, who.1).await.unwrap();
    run_for(10).await;
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(1, 1, 0, 1)
    );
    let state = tree.current_state().await;
    let left: Vec<&str> = state.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(left, ["sup_test/2"]);
    refused!(tree.remove_child(&first, who.0, who.1).await, UnknownPath);
    // Arguments of another type than the template's: refused, nothing started.
    refused!(
        tree.start_child("sup_test", 7_u32, who.0, who.1).await,
        WrongArguments
    );
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(1, 1, 0, 1)
    );
    // The numbers of a pool never repeat.
    let third = start_pooled(&tree).await;
    assert_eq!(third, "sup_test/3");
}

/// OTP `simple_one_for_one`: each pool child is restarted alone; the third restart within
/// the period exceeds an intensity of 2 and the pool exits.
#[tokio::test(start_paused = true)]
async fn simple_one_for_one() {
    let mut kit = start_kit(worker_pool(2, 10)).await;
    let first = start_pooled(kit.tree()).await;
    let second = start_pooled(kit.tree()).await;
    kill(&mut kit, &first).await;
    let state = kit.tree().current_state().await;
    assert_eq!(
        phase_and_attempt(&state, &first),
        (ServicePhase::Running, 2)
    );
    assert_eq!(
        phase_and_attempt(&state, &second),
        (ServicePhase::Running, 1)
    );
    assert_eq!(
        kit.tree().count_children("sup_test").await.unwrap(),
        counts(2, 2, 0, 2)
    );
    kill(&mut kit, &second).await;
    assert!(!kit.tree().is_shutting_down());
    kill(&mut kit, &first).await;
    match kit.tree().run_until_shutdown().await {
        Err(SupervisorError::Escalated(escalation)) => assert_eq!(escalation.max_restarts, 2),
        other => panic!("expected the pool to exit, got {other:?}"),
    }
}

/// OTP `simple_one_for_one_shutdown`: pool children stop per their shutdown policy (2 s):
/// two that take 1 s stop gracefully, one that would take 5 s is killed at 2 s.
#[tokio::test(start_paused = true)]
async fn simple_one_for_one_shutdown() {
    let spec = SupervisorSpec::builder("sup_test")
        .intensity(2, LONG)
        .pool(3, |drain: Duration| {
            slow_to_stop("child", drain)
                .with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(2)))
        })
        .build()
        .unwrap();
    let tree = start(spec).await;
    for drain in [1, 1, 5] {
        tree.start_child("sup_test", Duration::from_secs(drain), "test", "start")
            .await
            .unwrap();
    }
    let report = tree.shutdown_tree("test", "shutdown").await;
    assert_eq!(
        outcomes(&report),
        [
            ("sup_test/1", StopOutcome::Graceful),
            ("sup_test/2", StopOutcome::Graceful),
            ("sup_test/3", StopOutcome::Aborted),
        ]
    );
    assert_eq!(report.duration, Duration::from_secs(2));
}

/// OTP `simple_one_for_one_escalation`: a pool child that cannot restart exhausts the
/// intensity (4); the pool exits and its other child goes with it.
#[tokio::test(start_paused = true)]
async fn simple_one_for_one_escalation() {
    let spec = SupervisorSpec::builder("sup_test")
        .intensity(4, LONG)
        .pool(2, |fails: bool| match fails {
            true => fails_to_restart("child", 10),
            false => worker("child"),
        })
        .build()
        .unwrap();
    let tree = start(spec).await;
    tree.start_child("sup_test", true, "test", "start")
        .await
        .unwrap();
    tree.start_child("sup_test", false, "test", "start")
        .await
        .unwrap();
    exits_with_every_child(&tree, "simple_one_for_one_escalation").await;
}

/// OTP `hanging_restart_loop_simple`: a pool child that keeps failing to start can still be
/// removed, a new one started, and the pool shut down.
#[tokio::test(start_paused = true)]
async fn hanging_restart_loop_simple() {
    let spec = SupervisorSpec::builder("sup_test")
        .without_intensity_limit()
        .pool(2, |fails: bool| {
            service_fn("child", move |ctx: TaskContext| async move {
                if fails {
                    return Err(ServiceError::from("failed to start"));
                }
                ctx.cancelled().await;
                Ok(())
            })
            .with_backoff(plain_backoff(1, 1))
        })
        .build()
        .unwrap();
    let tree = start(spec).await;
    let looping = tree
        .start_child("sup_test", true, "test", "start")
        .await
        .unwrap();
    run_for(500).await;
    let state = tree.current_state().await;
    assert!(child(&state, &looping.path).attempt > 100);
    assert_eq!(tree.count_children("sup_test").await.unwrap().specs, 1);
    tree.remove_child(&looping.path, "test", "stop it")
        .await
        .unwrap();
    run_for(10).await;
    assert_eq!(
        tree.count_children("sup_test").await.unwrap(),
        counts(0, 0, 0, 0)
    );
    let fine = tree
        .start_child("sup_test", false, "test", "start")
        .await
        .unwrap();
    tree.start_child("sup_test", true, "test", "start")
        .await
        .unwrap();
    run_for(500).await;
    let report = tree.shutdown_tree("test", "shutdown").await;
    let outcome = report
        .services
        .iter()
        .find(|s| s.path == fine.path)
        .map(|s| s.outcome);
    assert_eq!(outcome, Some(StopOutcome::Graceful));
}

/// How OTP's `dont_save_child_specs_for_temporary_children` ends a child.
#[derive(Clone, Copy, Debug)]
enum Ending {
    /// `exit(Pid, kill)`: here a panic.
    Kill,
    /// Exits with reason `normal`.
    Normal,
    /// Exits abnormally.
    Abnormal,
    /// `supervisor:terminate_child`: here `pause_child`, or `remove_child` for a temporary
    /// child (OTP deletes a temporary child that it terminates).
    Supervisor,
}

/// OTP `do_not_save_child_specs_for_temporary_children`: a permanent child (and a transient
/// one that failed) is restarted, so adding it again is refused; a transient child that ended
/// normally, or any child stopped by its supervisor, stays until restarted; a temporary one
/// that ended is forgotten, so it can be added again.
#[tokio::test(start_paused = true)]
async fn do_not_save_child_specs_for_temporary_children() {
    for strategy in [
        Strategy::OneForAll,
        Strategy::OneForOne,
        Strategy::RestForOne,
    ] {
        for ending in [
            Ending::Kill,
            Ending::Normal,
            Ending::Abnormal,
            Ending::Supervisor,
        ] {
            let spec = SupervisorSpec::builder("sup_test")
                .strategy(strategy)
                .intensity(2, LONG)
                .max_dynamic_children(3)
                .build()
                .unwrap();
            let kit = start_kit(spec).await;
            let tree = kit.tree().clone();
            let case = format!("{strategy}, {ending:?}");
            for (name, restart) in [
                ("child1", RestartPolicy::Always),
                ("child2", RestartPolicy::OnFailure),
                ("child3", RestartPolicy::Never),
            ] {
                let path = format!("sup_test/{name}");
                let child = || worker(name).with_restart(restart);
                tree.add_child("sup_test", child(), "test", "add")
                    .await
                    .unwrap();
                run_for(10).await;
                match ending {
                    Ending::Kill => kit.panic(&path, "killed"),
                    Ending::Normal => kit.exit(&path),
                    Ending::Abnormal => kit.fail(&path, "abnormal"),
                    Ending::Supervisor if restart == RestartPolicy::Never => {
                        tree.remove_child(&path, "test", "end").await.unwrap();
                    }
                    Ending::Supervisor => {
                        tree.pause_child(&path, "test", "end").await.unwrap();
                    }
                }
                run_for(60).await;
                let added = tree.add_child("sup_test", child(), "test", "again").await;
                let restarted = matches!(
                    (restart, ending),
                    (
                        RestartPolicy::Always,
                        Ending::Kill | Ending::Normal | Ending::Abnormal
                    ) | (RestartPolicy::OnFailure, Ending::Kill | Ending::Abnormal)
                );
                let state = tree.current_state().await;
                match restart {
                    RestartPolicy::Never => {
                        assert!(added.is_ok(), "{case}: {name} was forgotten: {added:?}");
                    }
                    _ => {
                        assert!(
                            matches!(added, Err(CommandError::DuplicateName { .. })),
                            "{case}: {name} is still there: {added:?}"
                        );
                        let (phase, attempt) = phase_and_attempt(&state, &path);
                        if restarted {
                            assert_eq!((phase, attempt), (ServicePhase::Running, 2), "{case}");
                        } else {
                            // {error, already_present}; restart_child brings it back.
                            assert_ne!(phase, ServicePhase::Running, "{case}: {name}");
                            tree.restart_child(&path, "test", "back").await.unwrap();
                            run_for(10).await;
                            let state = tree.current_state().await;
                            assert_eq!(
                                phase_and_attempt(&state, &path),
                                (ServicePhase::Running, 2),
                                "{case}: {name} restarted"
                            );
                        }
                    }
                }
            }
            tree.shutdown_tree("test", "done").await;
        }
    }
}
