//! What systemd is told, captured from a fake `NOTIFY_SOCKET` (a datagram socket the test
//! binds), on the paused clock; and the Kubernetes probes.

#![cfg(unix)]

mod common;

use std::time::Duration;

use common::*;
use supervisor::prelude::*;
use supervisor::systemd::{SystemdNotifier, SystemdSettings};
use tokio::net::UnixDatagram;
use tokio::time::Instant;

fn socket_path(test: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("supervisor-systemd-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("notify.sock")
}

/// The fake service manager: every datagram with the (paused) time it came, in ms.
struct Manager {
    socket: UnixDatagram,
    origin: Instant,
}

impl Manager {
    fn bind(path: &std::path::Path) -> Self {
        Manager {
            socket: UnixDatagram::bind(path).unwrap(),
            origin: Instant::now(),
        }
    }

    /// The next message, and when.
    async fn next(&self) -> (u64, String) {
        let mut buffer = vec![0; 4096];
        let n = self.socket.recv(&mut buffer).await.unwrap();
        let at = self.origin.elapsed().as_millis() as u64;
        (at, String::from_utf8_lossy(&buffer[..n]).into_owned())
    }

    /// Messages until one contains `last`.
    async fn until(&self, last: &str) -> Vec<(u64, String)> {
        let mut seen = Vec::new();
        loop {
            let message = self.next().await;
            let done = message.1.contains(last);
            seen.push(message);
            if done {
                return seen;
            }
        }
    }
}

fn settings(path: &std::path::Path, watchdog_ms: Option<u64>) -> SystemdSettings {
    SystemdSettings {
        socket: Some(path.to_owned()),
        watchdog: watchdog_ms.map(Duration::from_millis),
        settle: Duration::from_millis(10),
    }
}

#[tokio::test(start_paused = true)]
async fn ready_once_every_child_is_ready_then_status_then_stopping() {
    let path = socket_path("ready");
    let manager = Manager::bind(&path);
    let slow = service_fn("risk", |ctx: TaskContext| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        ctx.ready();
        ctx.cancelled().await;
        Ok::<(), ServiceError>(())
    })
    .with_readiness(Readiness::Explicit {
        timeout: Duration::from_secs(5),
    });
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .child(slow)
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    let notifier = SystemdNotifier::start_with(&tree, settings(&path, None));
    assert!(notifier.is_active());
    let until_ready = manager.until("READY=1").await;
    let (at, ready) = until_ready.last().unwrap();
    assert!(*at >= 300, "ready only once `risk` is: at {at} ms");
    assert_eq!(
        ready,
        "READY=1\nSTATUS=2 running, 0 backing off, 0 terminated\n"
    );
    // Before it, the status said what was not ready yet.
    assert!(until_ready.len() >= 2, "{until_ready:?}");
    tree.shutdown_tree("test", "done").await;
    let rest = manager.until("STATUS=stopped").await;
    let texts: Vec<&str> = rest.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(
        texts,
        ["STOPPING=1\nSTATUS=shutting down\n", "STATUS=stopped\n"]
    );
    notifier.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_is_pinged_at_half_its_timeout_only_while_healthy() {
    let path = socket_path("watchdog");
    let manager = Manager::bind(&path);
    // Fails for good at 1.1 s: the tree is unhealthy from then on.
    let doomed = service_fn("loader", |_| async {
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        Err::<(), _>(ServiceError::fatal("limits file gone"))
    });
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .child(doomed)
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    let notifier = SystemdNotifier::start_with(&tree, settings(&path, Some(400)));
    // Pings every 200 ms from the start, while healthy; then a status naming the loss.
    let mut pings = Vec::new();
    loop {
        let (at, text) = manager.next().await;
        if text == "WATCHDOG=1\n" {
            pings.push(at);
        }
        if text.contains("1 terminated") {
            break;
        }
    }
    assert_eq!(pings, [0, 200, 400, 600, 800, 1_000]);
    // Nothing more: the next message is the one shutdown sends, with no ping in between.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    tree.shutdown_tree("test", "done").await;
    let (at, text) = manager.next().await;
    assert_eq!(text, "STOPPING=1\nSTATUS=shutting down\n");
    assert!(at >= 3_000, "{at}");
    notifier.stop().await;
}

#[tokio::test(start_paused = true)]
async fn without_a_notify_socket_nothing_runs() {
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    let notifier = SystemdNotifier::start_with(
        &tree,
        SystemdSettings {
            socket: None,
            watchdog: Some(Duration::from_secs(1)),
            settle: Duration::from_millis(10),
        },
    );
    assert!(!notifier.is_active());
    notifier.stop().await;
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn readiness_waits_for_the_start_and_ends_with_shutdown_liveness_with_the_tree() {
    let slow = service_fn("risk", |ctx: TaskContext| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        ctx.ready();
        ctx.cancelled().await;
        Ok::<(), ServiceError>(())
    })
    .with_readiness(Readiness::Explicit {
        timeout: Duration::from_secs(5),
    });
    let spec = SupervisorSpec::builder("bot")
        .child(slow)
        .child(idle("router").after(["risk"]))
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    tokio::task::yield_now().await;
    let readiness = tree.readiness().await;
    assert!(!readiness.passing);
    assert_eq!(readiness.detail, "starting: bot/router");
    assert!(tree.liveness().await.passing, "alive while starting");
    run_for(200).await;
    // Started, not ready yet.
    assert_eq!(tree.readiness().await.detail, "starting: bot/router");
    run_for(200).await;
    assert_eq!(tree.readiness().await.detail, "ok");
    let report = tokio::spawn({
        let tree = tree.clone();
        async move { tree.shutdown_tree("test", "done").await }
    });
    tokio::task::yield_now().await;
    assert_eq!(tree.readiness().await.detail, "shutting down");
    report.await.unwrap();
    let liveness = tree.liveness().await;
    assert_eq!(
        (liveness.passing, liveness.detail.as_str()),
        (false, "the tree has ended")
    );
}

#[tokio::test(start_paused = true)]
async fn liveness_fails_when_the_root_loop_is_lost() {
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    run_for(10).await;
    assert!(tree.liveness().await.passing);
    tree.inject_loop_panic("bot");
    tree.wait_for_drain().await;
    let liveness = tree.liveness().await;
    assert!(!liveness.passing);
    assert!(
        liveness
            .detail
            .starts_with("the tree ended with an internal error")
            && liveness.detail.contains("injected fault"),
        "{liveness}"
    );
}
