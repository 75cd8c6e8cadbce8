//! SIGTERM starts the graceful shutdown; a second one aborts the drain at once.
//!
//! Its own test binary: signals go to the whole process. The clock is not paused, because a
//! paused clock would jump to the hour-long shutdown timeout by itself; nothing here waits on
//! time, the outer timeout only turns a hang into a failure.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use supervisor::prelude::*;

fn send_sigterm_to_self() {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

async fn until(condition: impl Fn() -> bool) {
    while !condition() {
        tokio::task::yield_now().await;
    }
}

#[cfg(unix)]
#[tokio::test]
async fn first_signal_drains_second_signal_aborts() {
    // Installs the process-wide handler now, so no signal can kill the test binary.
    let _guard = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    let cancelled = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&cancelled);
    let sup = Arc::new(Supervisor::new(
        SupervisorConfig::default().with_shutdown_timeout(Duration::from_secs(3_600)),
    ));
    // Notices cancellation, then refuses to stop.
    sup.spawn_service(service("stubborn", RestartPolicy::Always, move |ctx| {
        let seen = Arc::clone(&seen);
        async move {
            ctx.cancelled().await;
            seen.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await;
            Ok(())
        }
    }))
    .unwrap();

    let runner = tokio::spawn({
        let sup = Arc::clone(&sup);
        async move { sup.run_until_shutdown().await }
    });
    let report = tokio::time::timeout(Duration::from_secs(60), async {
        // On this current-thread runtime, one yield lets the runner install its handlers.
        tokio::task::yield_now().await;
        send_sigterm_to_self();
        until(|| cancelled.load(Ordering::SeqCst)).await;
        assert!(sup.is_shutting_down());
        send_sigterm_to_self();
        runner.await.unwrap().unwrap()
    })
    .await
    .expect("the second signal should end the drain");

    assert_eq!(report.count(StopOutcome::Aborted), 1);
    assert!(report.duration < Duration::from_secs(3_600));
}
