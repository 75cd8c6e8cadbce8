//! Children added at run time: `add_child` within a supervisor's limit, `remove_child`, pools
//! with `start_child`, `count_children`. On the paused clock.

mod common;

use std::time::Duration;

use common::*;
use supervisor::prelude::*;
use supervisor::{ChildCounts, Command, CommandError, EventKind, TerminationReason};

async fn start(spec: SupervisorSpec) -> SupervisorHandle {
    Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn add_child_starts_children_within_the_limit_and_checks_them() {
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(2)
        .child(idle("feed"))
        .nested(SupervisorSpec::builder("fixed").child(idle("x")), |c| c)
        .build()
        .unwrap();
    let tree = start(spec).await;
    let mut events = tree.subscribe();
    let added = tree
        .add_child("bot", idle("kraken"), "ops", "new venue")
        .await
        .unwrap();
    assert_eq!(
        (added.path.as_str(), added.phase, added.changed),
        ("bot/kraken", ServicePhase::Running, true)
    );
    assert_eq!(
        tree.add_child("bot", idle("kraken"), "ops", "again")
            .await
            .unwrap_err(),
        CommandError::DuplicateName {
            path: "bot/kraken".into()
        }
    );
    assert_eq!(
        tree.add_child("bot", idle("feed"), "ops", "declared name")
            .await
            .unwrap_err(),
        CommandError::DuplicateName {
            path: "bot/feed".into()
        }
    );
    let bad = tree
        .add_child("bot", idle("a/b"), "ops", "slash")
        .await
        .unwrap_err();
    assert!(matches!(bad, CommandError::InvalidChild(_)), "{bad}");
    let dependent = idle("risk").after(["feed"]);
    let bad = tree
        .add_child("bot", dependent, "ops", "deps")
        .await
        .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "the new child is invalid: `bot/risk`: invalid after / requires = feed: expected no dependencies: a child added at run time cannot depend on its siblings"
    );
    tree.add_child("bot", idle("bybit"), "ops", "second")
        .await
        .unwrap();
    assert_eq!(
        tree.add_child("bot", idle("okx"), "ops", "third")
            .await
            .unwrap_err(),
        CommandError::TooManyChildren {
            supervisor: "bot".into(),
            max: 2
        }
    );
    assert_eq!(
        tree.add_child("bot/fixed", idle("y"), "ops", "closed")
            .await
            .unwrap_err(),
        CommandError::DynamicChildrenNotAllowed {
            supervisor: "bot/fixed".into()
        }
    );
    assert_eq!(
        tree.add_child("bot/feed", idle("y"), "ops", "a service")
            .await
            .unwrap_err(),
        CommandError::NotASupervisor {
            path: "bot/feed".into()
        }
    );
    assert_eq!(
        tree.count_children("bot").await.unwrap(),
        ChildCounts {
            specs: 4,
            active: 4,
            supervisors: 1,
            workers: 3
        }
    );
    let audited: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|e| match e.kind {
            EventKind::Command(audit) => Some((audit.command, audit.target)),
            _ => None,
        })
        .collect();
    assert_eq!(
        audited,
        [
            (Command::Add, "bot/kraken".to_owned()),
            (Command::Add, "bot/bybit".to_owned())
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn remove_child_stops_a_child_and_frees_its_name() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(1)
        .child(idle("feed"))
        .build()
        .unwrap();
    let tree = start(spec).await;
    tree.add_child("bot", logged("kraken", &journal, None, 30), "ops", "add")
        .await
        .unwrap();
    run_for(10).await;
    let removed = tree
        .remove_child("bot/kraken", "ops", "venue closed")
        .await
        .unwrap();
    assert_eq!(
        (removed.phase, removed.changed),
        (ServicePhase::Stopping, true)
    );
    // Repeated while it drains: nothing more to do.
    let again = tree
        .remove_child("bot/kraken", "ops", "twice")
        .await
        .unwrap();
    assert!(!again.changed);
    assert_eq!(
        tree.restart_child("bot/kraken", "ops", "too late")
            .await
            .unwrap_err(),
        CommandError::NotAllowed {
            path: "bot/kraken".into(),
            phase: ServicePhase::Stopping,
            hint: "it is being removed"
        }
    );
    run_for(100).await;
    assert_eq!(journal.lines(), ["0 start kraken#1", "40 stop kraken"]);
    assert!(matches!(
        tree.restart_child("bot/kraken", "ops", "gone")
            .await
            .unwrap_err(),
        CommandError::UnknownPath { .. }
    ));
    assert_eq!(tree.count_children("bot").await.unwrap().specs, 1);
    // The limit counts children there are: the name and the place are free again.
    tree.add_child("bot", idle("kraken"), "ops", "back")
        .await
        .unwrap();
    assert_eq!(
        tree.remove_child("bot/feed", "ops", "declared")
            .await
            .unwrap_err(),
        CommandError::NotAllowed {
            path: "bot/feed".into(),
            phase: ServicePhase::Running,
            hint: "a declared child cannot be removed; pause or quarantine it"
        }
    );
}

#[derive(Debug)]
struct Order(u64);

fn order_pool(max: usize, journal: &Journal) -> ChildSpec {
    let journal = journal.clone();
    ChildSpec::pool("workers", max, move |order: Order| {
        let journal = journal.clone();
        service_fn("order", move |ctx: TaskContext| {
            let journal = journal.clone();
            async move {
                journal.log(format!("{} fills order {}", ctx.name(), order.0));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .with_restart(RestartPolicy::Never)
    })
}

#[tokio::test(start_paused = true)]
async fn a_pool_starts_numbered_children_from_its_template_and_releases_them() {
    let journal = Journal::new();
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .child(order_pool(2, &journal))
        .build()
        .unwrap();
    let tree = start(spec).await;
    let first = tree
        .start_child("bot/workers", Order(7), "router", "fill")
        .await
        .unwrap();
    let second = tree
        .start_child("bot/workers", Order(8), "router", "fill")
        .await
        .unwrap();
    assert_eq!(
        (first.path.as_str(), second.path.as_str()),
        ("bot/workers/1", "bot/workers/2")
    );
    assert_eq!(
        tree.start_child("bot/workers", Order(9), "router", "full")
            .await
            .unwrap_err(),
        CommandError::TooManyChildren {
            supervisor: "bot/workers".into(),
            max: 2
        }
    );
    assert_eq!(
        tree.start_child("bot/workers", "not an order", "router", "typo")
            .await
            .unwrap_err(),
        CommandError::WrongArguments {
            pool: "bot/workers".into(),
            expected: std::any::type_name::<Order>()
        }
    );
    assert_eq!(
        tree.start_child("bot", Order(1), "router", "not a pool")
            .await
            .unwrap_err(),
        CommandError::NotAPool {
            supervisor: "bot".into()
        }
    );
    assert_eq!(tree.count_children("bot/workers").await.unwrap().active, 2);
    run_for(150).await;
    // Temporary workers that finished are gone, and their places are free.
    assert_eq!(
        tree.count_children("bot/workers").await.unwrap(),
        ChildCounts::default()
    );
    let third = tree
        .start_child("bot/workers", Order(9), "router", "fill")
        .await
        .unwrap();
    assert_eq!(third.path, "bot/workers/3");
    assert_eq!(
        journal.lines(),
        [
            "0 1 fills order 7",
            "0 2 fills order 8",
            "150 3 fills order 9"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_pool_can_be_declared_in_the_tree_macro() {
    let journal = Journal::new();
    let tree = supervisor! {
        name = "bot",
        workers = order_pool(10, &journal),
    }
    .start_with_config(test_config())
    .await
    .unwrap();
    let receipt = tree
        .start_child("bot/workers", Order(1), "router", "fill")
        .await
        .unwrap();
    assert_eq!(receipt.path, "bot/workers/1");
    run_for(1).await;
    assert_eq!(journal.lines(), ["0 1 fills order 1"]);
}

#[tokio::test(start_paused = true)]
async fn a_removed_child_that_was_waiting_ends_at_once() {
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(1)
        .build()
        .unwrap();
    let tree = start(spec).await;
    let mut events = tree.subscribe();
    let failing = service_fn("flaky", |_| async {
        Err::<(), _>(ServiceError::from("down"))
    })
    .with_backoff(plain_backoff(10_000, 10_000));
    tree.add_child("bot", failing, "ops", "try").await.unwrap();
    run_for(10).await;
    let receipt = tree
        .remove_child("bot/flaky", "ops", "give up")
        .await
        .unwrap();
    assert_eq!(receipt.phase, ServicePhase::Terminated);
    assert_eq!(
        endings(&mut events),
        [("bot/flaky".to_owned(), 1, TerminationReason::Removed)]
    );
    assert_eq!(tree.count_children("bot").await.unwrap().specs, 0);
}

#[tokio::test(start_paused = true)]
async fn commands_inside_a_removed_subtree_are_unknown_paths() {
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(1)
        .build()
        .unwrap();
    let tree = start(spec).await;
    let venue = SupervisorSpec::builder("venue")
        .child(idle("feed"))
        .build()
        .unwrap();
    tree.add_child("bot", ChildSpec::supervisor(venue), "ops", "new venue")
        .await
        .unwrap();
    tree.restart_child("bot/venue/feed", "ops", "reachable")
        .await
        .unwrap();
    tree.remove_child("bot/venue", "ops", "closed")
        .await
        .unwrap();
    run_for(10).await;
    assert_eq!(
        tree.pause_child("bot/venue/feed", "ops", "gone")
            .await
            .unwrap_err(),
        CommandError::UnknownPath {
            path: "bot/venue/feed".into(),
            suggestion: None
        }
    );
    assert!(tree.current_state().await.find("bot/venue/feed").is_none());
}

/// A child added into a slot another one left keeps its place after the children added
/// before it: in the state's order, and in rest_for_one's "those started after it".
#[tokio::test(start_paused = true)]
async fn a_reused_slot_keeps_the_order_children_were_added_in() {
    let spec = SupervisorSpec::builder("bot")
        .strategy(Strategy::RestForOne)
        .max_dynamic_children(3)
        .child(idle("feed"))
        .build()
        .unwrap();
    let tree = start(spec).await;
    for name in ["a", "b", "c"] {
        tree.add_child("bot", idle(name), "ops", "add")
            .await
            .unwrap();
    }
    tree.remove_child("bot/a", "ops", "gone").await.unwrap();
    run_for(10).await;
    tree.add_child("bot", idle("d"), "ops", "add")
        .await
        .unwrap();
    tree.restart_child("bot/b", "ops", "reload").await.unwrap();
    run_for(10).await;
    let state = tree.current_state().await;
    let rows: Vec<(&str, u32)> = state.iter().map(|c| (c.path.as_str(), c.attempt)).collect();
    assert_eq!(
        rows,
        [("bot/feed", 1), ("bot/b", 2), ("bot/c", 2), ("bot/d", 2)]
    );
}
