//! Operator commands on a running tree: restart, pause / resume, quarantine / release, with
//! their audit events, idempotency and typed errors. All on the paused clock.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use supervisor::prelude::*;
use supervisor::{Command, CommandAudit, CommandError, EventKind, LifecycleEvent};

async fn start(spec: SupervisorSpec) -> SupervisorHandle {
    Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap()
}

/// Each child's path, phase and attempt.
async fn phases(tree: &SupervisorHandle) -> Vec<(String, ServicePhase, u32)> {
    tree.current_state()
        .await
        .iter()
        .map(|c| (c.path.clone(), c.phase, c.attempt))
        .collect()
}

fn row(path: &str, phase: ServicePhase, attempt: u32) -> (String, ServicePhase, u32) {
    (path.to_owned(), phase, attempt)
}

fn audits(events: &mut tokio::sync::broadcast::Receiver<LifecycleEvent>) -> Vec<CommandAudit> {
    let mut found = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let EventKind::Command(audit) = event.kind {
            found.push(*audit);
        }
    }
    found
}

#[tokio::test(start_paused = true)]
async fn restart_child_restarts_a_running_child_and_is_audited() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        // One restart in a minute: the commands below would exceed it if they counted.
        .intensity(1, Duration::from_secs(60))
        .child(logged("feed", &journal, None, 0))
        .child(logged("risk", &journal, None, 0))
        .build()
        .unwrap();
    let tree = start(spec).await;
    let mut events = tree.subscribe();
    run_for(10).await;
    let first = tree
        .restart_child("bot/feed", "alice", "stale prices")
        .await
        .unwrap();
    assert_eq!(
        (first.path.as_str(), first.phase, first.changed),
        ("bot/feed", ServicePhase::Stopping, true)
    );
    run_for(10).await;
    let second = tree
        .restart_child("bot/feed", "alice", "still stale")
        .await
        .unwrap();
    assert!(second.command_id > first.command_id);
    run_for(10).await;
    assert_eq!(
        phases(&tree).await,
        [
            row("bot/feed", ServicePhase::Running, 3),
            row("bot/risk", ServicePhase::Running, 1)
        ]
    );
    // No delay: each restart starts at once, and one_for_one leaves risk alone.
    assert_eq!(
        journal.lines(),
        [
            "0 start feed#1",
            "0 start risk#1",
            "10 stop feed",
            "10 start feed#2",
            "20 stop feed",
            "20 start feed#3"
        ]
    );
    let audit = audits(&mut events);
    assert_eq!(audit.len(), 2);
    assert_eq!(
        (
            audit[0].command_id,
            audit[0].command,
            audit[0].target.as_str(),
            audit[0].requested_by.as_str(),
            audit[0].reason.as_str()
        ),
        (
            first.command_id,
            Command::Restart,
            "bot/feed",
            "alice",
            "stale prices"
        )
    );
    assert!(audit[0].accepted_at <= std::time::SystemTime::now());
    assert!(!tree.is_shutting_down(), "the commands counted as failures");
}

#[tokio::test(start_paused = true)]
async fn restart_child_follows_the_strategy() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .strategy(Strategy::OneForAll)
        .child(logged("feed", &journal, None, 0))
        .child(logged("risk", &journal, None, 0))
        .build()
        .unwrap();
    let tree = start(spec).await;
    let mut events = tree.subscribe();
    run_for(10).await;
    let receipt = tree
        .restart_child("bot/risk", "ops", "reload")
        .await
        .unwrap();
    run_for(10).await;
    assert_eq!(
        phases(&tree).await,
        [
            row("bot/feed", ServicePhase::Running, 2),
            row("bot/risk", ServicePhase::Running, 2)
        ]
    );
    let scope = std::iter::from_fn(|| events.try_recv().ok()).find_map(|e| match e.kind {
        EventKind::RestartScope {
            failed,
            restarting,
            command,
        } => Some((failed, restarting, command)),
        _ => None,
    });
    assert_eq!(
        scope,
        Some((
            "bot/risk".into(),
            vec!["bot/feed".into()],
            Some(receipt.command_id)
        ))
    );
}

/// The operator asked for this child: it restarts even if temporary. A temporary sibling
/// stopped with its scope ends, as a temporary child does in any group restart (OTP).
#[tokio::test(start_paused = true)]
async fn restart_child_restarts_a_temporary_target_but_not_a_temporary_bystander() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .strategy(Strategy::OneForAll)
        .child(logged("feed", &journal, None, 0).with_restart(RestartPolicy::Never))
        .child(logged("job", &journal, None, 0).with_restart(RestartPolicy::Never))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(10).await;
    let receipt = tree
        .restart_child("bot/feed", "ops", "reload")
        .await
        .unwrap();
    assert!(receipt.changed);
    run_for(10).await;
    assert_eq!(
        phases(&tree).await,
        [
            row("bot/feed", ServicePhase::Running, 2),
            row("bot/job", ServicePhase::Terminated, 1)
        ]
    );
    assert_eq!(
        journal.lines(),
        [
            "0 start feed#1",
            "0 start job#1",
            "10 stop job",
            "10 stop feed",
            "10 start feed#2"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn restart_child_skips_a_pending_backoff() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .child(logged("feed", &journal, Some(5), 0).with_backoff(plain_backoff(10_000, 10_000)))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(100).await;
    assert_eq!(
        phases(&tree).await,
        [row("bot/feed", ServicePhase::BackingOff, 1)]
    );
    let receipt = tree.restart_child("bot/feed", "ops", "now").await.unwrap();
    assert_eq!(
        (receipt.phase, receipt.changed),
        (ServicePhase::Running, true)
    );
    assert_eq!(journal.lines().last().unwrap(), "100 start feed#2");
}

#[tokio::test(start_paused = true)]
async fn pause_holds_a_child_and_those_that_require_it_until_resumed() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .child(logged("feed", &journal, None, 5))
        .child(logged("router", &journal, None, 5).requires(["feed"]))
        .child(logged("risk", &journal, None, 0).after(["feed"]))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(10).await;
    let paused = tree
        .pause_child("bot/feed", "ops", "exchange maintenance")
        .await
        .unwrap();
    // Its stop waits for the router, which requires it, to exit first.
    assert_eq!(
        (paused.phase, paused.changed),
        (ServicePhase::Running, true)
    );
    run_for(1_000).await;
    // The router stopped first (it requires the feed) and waits; risk only orders after it.
    assert_eq!(
        phases(&tree).await,
        [
            row("bot/feed", ServicePhase::Paused, 1),
            row("bot/router", ServicePhase::Waiting, 1),
            row("bot/risk", ServicePhase::Running, 1)
        ]
    );
    let again = tree.pause_child("bot/feed", "ops", "twice").await.unwrap();
    assert_eq!((again.phase, again.changed), (ServicePhase::Paused, false));
    assert!(again.command_id > paused.command_id);
    let resumed = tree.resume_child("bot/feed", "ops", "back").await.unwrap();
    assert_eq!(
        (resumed.phase, resumed.changed),
        (ServicePhase::Running, true)
    );
    run_for(10).await;
    assert_eq!(
        phases(&tree).await,
        [
            row("bot/feed", ServicePhase::Running, 2),
            row("bot/router", ServicePhase::Running, 2),
            row("bot/risk", ServicePhase::Running, 1)
        ]
    );
    assert_eq!(
        journal.lines()[3..],
        [
            "15 stop router",
            "20 stop feed",
            "1010 start feed#2",
            "1010 start router#2"
        ]
    );
    let not_paused = tree.resume_child("bot/risk", "ops", "noop").await.unwrap();
    assert_eq!(
        (not_paused.phase, not_paused.changed),
        (ServicePhase::Running, false)
    );
}

#[tokio::test(start_paused = true)]
async fn a_quarantined_child_no_longer_holds_back_those_ordered_after_it() {
    let journal = Journal::new();
    let stuck = service_fn("feed", |ctx: TaskContext| async move {
        // Never ready: everything after it waits.
        ctx.cancelled().await;
        Ok::<(), ServiceError>(())
    })
    .with_readiness(Readiness::Explicit {
        timeout: Duration::from_secs(3_600),
    });
    let spec = SupervisorSpec::builder("bot")
        .child(stuck)
        .child(logged("risk", &journal, None, 0).after(["feed"]))
        .child(logged("router", &journal, None, 0).requires(["feed"]))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(10).await;
    assert!(journal.lines().is_empty());
    tree.quarantine_child("bot/feed", "ops", "bad data")
        .await
        .unwrap();
    run_for(10).await;
    assert_eq!(
        phases(&tree).await,
        [
            row("bot/feed", ServicePhase::Quarantined, 1),
            row("bot/risk", ServicePhase::Running, 1),
            row("bot/router", ServicePhase::Waiting, 0)
        ]
    );
    let error = tree
        .restart_child("bot/feed", "ops", "try")
        .await
        .unwrap_err();
    assert!(matches!(
        &error,
        CommandError::NotAllowed {
            phase: ServicePhase::Quarantined,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "`bot/feed` is quarantined: `release_child` starts it again"
    );
    let released = tree
        .release_child("bot/feed", "ops", "fixed")
        .await
        .unwrap();
    assert_eq!(
        (released.phase, released.changed),
        (ServicePhase::Starting, true)
    );
    let again = tree
        .release_child("bot/feed", "ops", "twice")
        .await
        .unwrap();
    assert!(!again.changed);
}

#[tokio::test(start_paused = true)]
async fn children_stopped_for_a_terminated_requirement_start_again_with_it() {
    let healthy = Arc::new(AtomicBool::new(false));
    let journal = Journal::new();
    let flag = Arc::clone(&healthy);
    let feed = service_fn("feed", move |ctx: TaskContext| {
        let flag = Arc::clone(&flag);
        async move {
            if !flag.load(Ordering::SeqCst) {
                return Err(ServiceError::from("refused"));
            }
            ctx.cancelled().await;
            Ok(())
        }
    })
    .with_backoff(plain_backoff(10, 10).with_circuit_breaker(2, Duration::from_secs(60)));
    let spec = SupervisorSpec::builder("bot")
        .child(feed)
        .child(logged("router", &journal, None, 0).requires(["feed"]))
        .child(logged("fills", &journal, None, 0).requires(["router"]))
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(1_000).await;
    let ended: Vec<_> = phases(&tree).await.into_iter().map(|(_, p, _)| p).collect();
    assert_eq!(ended, [ServicePhase::Terminated; 3]);
    healthy.store(true, Ordering::SeqCst);
    let receipt = tree
        .restart_child("bot/feed", "ops", "exchange back")
        .await
        .unwrap();
    assert_eq!(
        (receipt.phase, receipt.changed),
        (ServicePhase::Running, true)
    );
    run_for(10).await;
    let state = tree.current_state().await;
    let now: Vec<_> = state.iter().map(|c| (c.path.as_str(), c.phase)).collect();
    assert_eq!(
        now,
        [
            ("bot/feed", ServicePhase::Running),
            ("bot/router", ServicePhase::Running),
            ("bot/fills", ServicePhase::Running)
        ]
    );
    assert_eq!(tree.metrics().snapshot().active_services, 3);
    // The breaker starts afresh: one more failure backs off instead of opening it again.
    healthy.store(false, Ordering::SeqCst);
    tree.restart_child("bot/feed", "ops", "flaky again")
        .await
        .unwrap();
    run_for(5).await;
    let feed = tree.current_state().await.find("bot/feed").unwrap().phase;
    assert_eq!(feed, ServicePhase::BackingOff);
}

#[tokio::test(start_paused = true)]
async fn commands_on_bad_paths_and_phases_get_typed_errors() {
    let journal = Journal::new();
    let nested = SupervisorSpec::builder("execution").child(logged("router", &journal, None, 0));
    let once = service_fn("job", |_| async { Ok::<(), ServiceError>(()) })
        .with_restart(RestartPolicy::Never);
    let spec = SupervisorSpec::builder("bot")
        .child(logged("feed", &journal, None, 0))
        .child(once)
        .nested(nested, |child| child)
        .build()
        .unwrap();
    let tree = start(spec).await;
    run_for(10).await;
    let error = tree
        .restart_child("bot/fed", "ops", "typo")
        .await
        .unwrap_err();
    assert_eq!(
        error,
        CommandError::UnknownPath {
            path: "bot/fed".into(),
            suggestion: Some("bot/feed".into())
        }
    );
    assert_eq!(
        error.to_string(),
        "no child at `bot/fed`; did you mean `bot/feed`?"
    );
    let error = tree
        .restart_child("bot/feed/x", "ops", "below a service")
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        CommandError::UnknownPath {
            suggestion: None,
            ..
        }
    ));
    let error = tree
        .restart_child("other/feed", "ops", "other root")
        .await
        .unwrap_err();
    assert!(matches!(error, CommandError::UnknownPath { .. }));
    assert_eq!(
        tree.pause_child("bot", "ops", "root").await.unwrap_err(),
        CommandError::NotAChild { path: "bot".into() }
    );
    let error = tree
        .pause_child("bot/job", "ops", "ended")
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        CommandError::NotAllowed {
            phase: ServicePhase::Terminated,
            ..
        }
    ));
    // A nested child is reached through its supervisor.
    let receipt = tree
        .restart_child("bot/execution/router", "ops", "nested")
        .await
        .unwrap();
    assert_eq!(receipt.path, "bot/execution/router");
    run_for(10).await;
    assert_eq!(
        tree.current_state()
            .await
            .find("bot/execution/router")
            .unwrap()
            .attempt,
        2
    );
    tree.pause_child("bot/execution", "ops", "hold the subtree")
        .await
        .unwrap();
    run_for(10).await;
    let error = tree
        .restart_child("bot/execution/router", "ops", "not running")
        .await
        .unwrap_err();
    assert_eq!(
        error,
        CommandError::SupervisorNotRunning {
            supervisor: "bot/execution".into(),
            phase: ServicePhase::Paused
        }
    );
    let report = tree.shutdown_tree("ops", "done").await;
    assert_eq!(
        tree.restart_child("bot/feed", "ops", "late")
            .await
            .unwrap_err(),
        CommandError::ShuttingDown
    );
    // Shutting down an ended tree returns the same report.
    assert_eq!(tree.shutdown_tree("ops", "again").await, report);
}
