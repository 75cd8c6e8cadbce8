// Every `#[service]` policy option is also a `with(..)` override, in the same spelling.
#![deny(warnings)]
use std::time::Duration;

use supervisor::prelude::*;

#[service(readiness = "explicit", startup_timeout = "10s")]
async fn risk(ctx: TaskContext) {
    ctx.ready();
    ctx.cancelled().await;
}

#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let tree = supervisor! {
        name = "bot",
        auto_shutdown = "any_significant",
        risk() with(startup_timeout = "2s"),
        feed() with(
            restart = "on_failure",
            backoff(base = "50ms", max = "5s", jitter = "none", reset_after = "1m"),
            circuit_breaker(max_failures = 3, within = "30s", on_open = "escalate"),
            shutdown(timeout = "3s"),
            readiness = "explicit",
            startup_timeout = "4s",
            heartbeat(stale_after = "2s"),
            significant,
            tags("market", "critical"),
        ),
        quiet: feed() with(circuit_breaker = false, shutdown = "brutal_kill", readiness = "immediate"),
        job = |ctx: TaskContext| async move { ctx.cancelled().await } with(restart = "never", significant),
    };
    let spec = tree.into_spec().unwrap();
    let [risk, feed, quiet, job] = spec.children() else {
        panic!("four children");
    };
    assert_eq!(risk.readiness(), Readiness::Explicit { timeout: Duration::from_secs(2) });
    assert_eq!(feed.restart(), RestartPolicy::OnFailure);
    assert_eq!(feed.backoff().base(), Duration::from_millis(50));
    assert_eq!(feed.backoff().circuit_breaker().unwrap().on_open, supervisor::OnOpen::Escalate);
    assert_eq!(feed.shutdown(), Some(ShutdownPolicy::Timeout(Duration::from_secs(3))));
    assert_eq!(feed.readiness(), Readiness::Explicit { timeout: Duration::from_secs(4) });
    assert_eq!(feed.heartbeat_timeout(), Some(Duration::from_secs(2)));
    assert!(feed.is_significant());
    assert_eq!(feed.tags().collect::<Vec<_>>(), ["market", "critical"]);
    assert!(quiet.backoff().circuit_breaker().is_none());
    assert_eq!(quiet.shutdown(), Some(ShutdownPolicy::BrutalKill));
    assert_eq!(quiet.readiness(), Readiness::Immediate);
    assert!(job.is_significant());
}
