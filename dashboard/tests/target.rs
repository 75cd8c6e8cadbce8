//! The relay's view of a target: connected, its tree and events, and a reconnect that
//! resumes the events after the last one seen when the target's socket comes back.

#![cfg(unix)]

use std::time::Duration;

use supervisor::ipc::IpcServer;
use supervisor::prelude::*;
use supervisor_dashboard::{Target, TargetSettings, TargetStatus};

fn socket_path(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("supervisor-relay-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("bot.sock")
}

/// Waits (bounded by a watchdog) until the target's status satisfies `done`.
async fn until(target: &mut Target, done: impl Fn(&TargetStatus) -> bool) -> TargetStatus {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let status = target.status();
            if done(&status) {
                return status;
            }
            target.changed().await;
        }
    })
    .await
    .expect("the status within the watchdog")
}

#[tokio::test]
async fn a_target_is_followed_across_a_restart_of_its_socket() {
    let path = socket_path("restart");
    let spec = SupervisorSpec::builder("bot")
        .child(service_fn(
            "feed",
            |ctx| async move { ctx.cancelled().await },
        ))
        .build()
        .unwrap();
    let config = SupervisorConfig::default().without_signal_handler();
    let tree = Supervisor::start_with_config(spec, config).await.unwrap();
    let server = IpcServer::start(&tree, &path).unwrap();
    let settings = TargetSettings {
        reconnect_base: Duration::from_millis(10),
        reconnect_max: Duration::from_millis(50),
        ..TargetSettings::default()
    };
    let mut target = Target::watch(&path, settings);
    let status = until(&mut target, |s| s.connected && s.tree.is_some()).await;
    assert_eq!(status.process.unwrap().tree, "bot");
    assert_eq!(status.tree.unwrap().children[0].path, "bot/feed");
    assert_eq!(
        status.events.front().unwrap().seq,
        1,
        "the journal from its start"
    );

    // An operator restarts the feed: its events arrive, and the state follows them.
    tree.restart_child("bot/feed", "alice", "test")
        .await
        .unwrap();
    let status = until(&mut target, |s| {
        s.tree.as_ref().is_some_and(|t| t.children[0].attempt == 2)
    })
    .await;
    assert!(status.events.iter().any(|e| e.kind == "command"));
    let last_seen = status.events.back().unwrap().seq;

    // The socket goes away (the process restarting, say): the relay says so and keeps the
    // last tree it saw.
    server.stop().await;
    let status = until(&mut target, |s| !s.connected).await;
    assert!(status.tree.is_some());
    assert!(status.last_error.is_some());

    // It comes back: the relay reconnects and resumes after the last event it had.
    tree.restart_child("bot/feed", "alice", "again")
        .await
        .unwrap();
    let server = IpcServer::start(&tree, &path).unwrap();
    let status = until(&mut target, |s| {
        s.connected
            && s.connections == 2
            && s.tree.as_ref().is_some_and(|t| t.children[0].attempt == 3)
    })
    .await;
    let seqs: Vec<u64> = status.events.iter().map(|e| e.seq).collect();
    let mut sorted = seqs.clone();
    sorted.dedup();
    assert_eq!(seqs, sorted, "no event twice");
    assert!(
        seqs.contains(&(last_seen + 1)),
        "resumed right after {last_seen}: {seqs:?}"
    );
    server.stop().await;
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test]
async fn a_target_that_is_not_there_is_reported_and_retried() {
    let path = socket_path("absent");
    let mut target = Target::watch(&path, TargetSettings::default());
    let status = until(&mut target, |s| s.last_error.is_some()).await;
    assert!(!status.connected);
    assert!(status.last_error.unwrap().starts_with("cannot connect"));
}
