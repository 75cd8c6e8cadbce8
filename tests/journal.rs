//! Events and the journal: sequence, correlation of a failure with the restarts it caused
//! and of a command with its effects, replay for late subscribers, the journal's bound, a
//! lagging subscriber, the end of the stream. On the paused clock.

mod common;

use std::time::Duration;

use common::*;
use supervisor::prelude::*;
use supervisor::{EventKind, LifecycleEvent, Missed};

async fn start(spec: SupervisorSpec, config: SupervisorConfig) -> SupervisorHandle {
    Supervisor::start_with_config(spec, config).await.unwrap()
}

/// Every event the stream has until the tree ends.
async fn drain(tree: &SupervisorHandle, from: u64) -> Vec<Result<LifecycleEvent, Missed>> {
    let mut stream = tree.subscribe_from(from);
    let mut all = Vec::new();
    while let Some(item) = stream.next().await {
        all.push(item);
    }
    all
}

/// An event as `path kind`, with its correlation if any.
fn line(event: &LifecycleEvent) -> String {
    let kind = match &event.kind {
        EventKind::PhaseChanged { from, to } => format!("{from} -> {to}"),
        EventKind::Started { attempt } => format!("started #{attempt}"),
        EventKind::BackingOff { next_attempt, .. } => format!("backing off to #{next_attempt}"),
        EventKind::RestartScope { restarting, .. } => format!("scope {restarting:?}"),
        EventKind::Terminated(reason) => format!("terminated: {reason}"),
        EventKind::Command(audit) => format!("command {}", audit.command),
        other => format!("{other:?}"),
    };
    match event.correlation {
        Some(id) => format!("{} {kind} [{id}]", event.path),
        None => format!("{} {kind}", event.path),
    }
}

#[tokio::test(start_paused = true)]
async fn a_failure_its_restart_scope_and_its_restarts_share_one_correlation() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .child(logged("feed", &journal, Some(100), 0))
        .child(logged("router", &journal, None, 0).requires(["feed"]))
        .build()
        .unwrap();
    let tree = start(spec, test_config()).await;
    run_for(1_000).await;
    tree.shutdown_tree("test", "done").await;
    let events: Vec<LifecycleEvent> = drain(&tree, 1)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    let failure = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::BackingOff { .. }))
        .and_then(|e| e.correlation)
        .expect("the failure has a correlation");
    let shutdown = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::ShutdownRequested { .. }))
        .and_then(|e| e.correlation)
        .expect("the shutdown has one too");
    let lines: Vec<String> = events.iter().map(line).collect();
    let f = failure;
    let s = shutdown;
    assert_eq!(
        lines,
        [
            "bot/feed waiting -> starting".to_owned(),
            "bot/feed started #1".to_owned(),
            "bot/feed starting -> running".to_owned(),
            "bot/router waiting -> starting".to_owned(),
            "bot/router started #1".to_owned(),
            "bot/router starting -> running".to_owned(),
            format!("bot/feed running -> backing off [{f}]"),
            format!("bot/feed backing off to #2 [{f}]"),
            format!("bot scope [\"bot/router\"] [{f}]"),
            format!("bot/router running -> stopping [{f}]"),
            format!("bot/router stopping -> backing off [{f}]"),
            format!("bot/feed backing off -> starting [{f}]"),
            format!("bot/feed started #2 [{f}]"),
            format!("bot/feed starting -> running [{f}]"),
            format!("bot/router backing off -> starting [{f}]"),
            format!("bot/router started #2 [{f}]"),
            format!("bot/router starting -> running [{f}]"),
            format!("bot ShutdownRequested {{ requested_by: \"test\", reason: \"done\" }} [{s}]"),
            format!("bot/router running -> stopping [{s}]"),
            format!("bot/router stopping -> terminated [{s}]"),
            format!("bot/router terminated: cancelled [{s}]"),
            format!("bot/feed running -> stopping [{s}]"),
            format!("bot/feed stopping -> terminated [{s}]"),
            format!("bot/feed terminated: cancelled [{s}]"),
            format!("bot ShutdownCompleted [{s}]"),
        ]
    );
    // Attempts and generations travel with each event.
    let restarted = events
        .iter()
        .find(|e| e.kind == EventKind::Started { attempt: 2 })
        .unwrap();
    assert_eq!((restarted.attempt, &*restarted.path), (2, "bot/feed"));
    let first = &events[0];
    assert!(first.generation > 0 && first.generation == restarted.generation);
}

#[tokio::test(start_paused = true)]
async fn a_commands_effects_carry_its_id() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .child(logged("feed", &journal, None, 50))
        .build()
        .unwrap();
    let tree = start(spec, test_config()).await;
    run_for(10).await;
    let mut live = tree.subscribe();
    let receipt = tree
        .pause_child("bot/feed", "ops", "maintenance")
        .await
        .unwrap();
    run_for(100).await;
    let lines: Vec<String> = std::iter::from_fn(|| live.try_recv().ok())
        .map(|e| line(&e))
        .collect();
    let id = receipt.command_id;
    assert_eq!(
        lines,
        [
            format!("bot/feed command pause [{id}]"),
            format!("bot/feed running -> stopping [{id}]"),
            format!("bot/feed stopping -> paused [{id}]"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_late_subscriber_replays_the_journal_then_follows_live() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .child(logged("feed", &journal, Some(100), 0))
        .build()
        .unwrap();
    let tree = start(spec, test_config()).await;
    run_for(50).await;
    // Three events so far: waiting -> starting, started, starting -> running.
    let mut stream = tree.subscribe_from(2);
    let replayed = stream.next().await.unwrap().unwrap();
    assert_eq!(
        (replayed.seq, replayed.kind.clone()),
        (2, EventKind::Started { attempt: 1 })
    );
    assert_eq!(stream.next().await.unwrap().unwrap().seq, 3);
    // The failure at 100 ms comes live, with the next number.
    let live = stream.next().await.unwrap().unwrap();
    assert_eq!(live.seq, 4);
    assert_eq!(live.at, Duration::from_millis(100));
    tree.shutdown_tree("test", "done").await;
    let mut last = live;
    while let Some(item) = stream.next().await {
        last = item.unwrap();
    }
    assert_eq!(last.kind, EventKind::ShutdownCompleted);
}

#[tokio::test(start_paused = true)]
async fn the_journal_keeps_its_last_events_and_says_how_many_it_forgot() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .child(logged("feed", &journal, None, 0))
        .build()
        .unwrap();
    let tree = start(spec, test_config().with_journal_capacity(4)).await;
    run_for(10).await;
    tree.shutdown_tree("test", "done").await;
    let items = drain(&tree, 1).await;
    // 8 events in all: 3 to start, shutdown requested, 3 to stop, shutdown completed.
    assert_eq!(items[0], Err(Missed(4)));
    let seqs: Vec<u64> = items[1..].iter().map(|i| i.as_ref().unwrap().seq).collect();
    assert_eq!(seqs, [5, 6, 7, 8]);
    let everything = drain(&tree, 7).await;
    assert_eq!(everything.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_lagging_subscriber_is_told_how_many_it_lost_and_never_slows_the_tree() {
    let spec = SupervisorSpec::builder("bot")
        .child(
            service_fn("flaky", |_| async {
                Err::<(), _>(ServiceError::from("down"))
            })
            .with_backoff(plain_backoff(10, 10)),
        )
        .without_intensity_limit()
        .build()
        .unwrap();
    let config = test_config()
        .with_event_capacity(4)
        .with_journal_capacity(0);
    let tree = start(spec, config).await;
    let mut stream = tree.subscribe_from(1);
    // 100 restarts while nobody reads: the tree goes on.
    run_for(1_005).await;
    assert!(
        tree.current_state()
            .await
            .find("bot/flaky")
            .unwrap()
            .attempt
            > 100
    );
    match stream.next().await.unwrap() {
        Err(Missed(n)) => assert!(n > 400, "{n}"),
        Ok(event) => panic!("expected a gap, got {event}"),
    }
    // Then it reads on from the buffer.
    assert!(stream.next().await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_child_added_again_is_a_new_generation() {
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(1)
        .build()
        .unwrap();
    let tree = start(spec, test_config()).await;
    let mut live = tree.subscribe();
    let job = || service_fn("job", |_| async {}).with_restart(RestartPolicy::Never);
    tree.add_child("bot", job(), "ops", "once").await.unwrap();
    run_for(1).await;
    tree.add_child("bot", job(), "ops", "twice").await.unwrap();
    run_for(1).await;
    let generations: std::collections::BTreeSet<u64> = std::iter::from_fn(|| live.try_recv().ok())
        .filter(|e| &*e.path == "bot/job")
        .map(|e| e.generation)
        .collect();
    assert_eq!(generations.len(), 2);
}

/// With no journal, events are built only while someone subscribes; a subscriber that comes
/// after every earlier one left gets the events from then on.
#[tokio::test(start_paused = true)]
async fn a_new_subscriber_after_all_others_left_gets_the_events() {
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(2)
        .child(service_fn("feed", |ctx: TaskContext| async move {
            ctx.cancelled().await
        }))
        .build()
        .unwrap();
    let tree = start(spec, test_config().with_journal_capacity(0)).await;
    let first = tree.subscribe();
    drop(first);
    // Nobody listens: these are not even built.
    tree.restart_child("bot/feed", "ops", "unseen")
        .await
        .unwrap();
    run_for(10).await;
    let mut second = tree.subscribe();
    tree.restart_child("bot/feed", "ops", "seen").await.unwrap();
    run_for(10).await;
    let mut seen = Vec::new();
    while let Ok(event) = second.try_recv() {
        seen.push(event);
    }
    let audits: Vec<String> = seen
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Command(audit) => Some(audit.reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(audits, ["seen"]);
    assert!(
        seen.iter()
            .any(|e| matches!(e.kind, EventKind::Started { attempt: 3 })),
        "{seen:?}"
    );
}
