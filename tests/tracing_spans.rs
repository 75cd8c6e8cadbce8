//! The attempt span: a service's own log lines carry its path and attempt. Alone in its
//! binary: tracing caches which call sites are enabled, and tests on other threads without a
//! subscriber would race with the one set here.

mod common;

use common::*;
use supervisor::prelude::*;

/// Collects what a `tracing_subscriber::fmt` subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_services_own_log_lines_carry_its_path_and_attempt() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let feed = service_fn("feed", |ctx: TaskContext| async move {
        tracing::info!("connected");
        if ctx.attempt() == 1 {
            return Err(ServiceError::from("reset"));
        }
        ctx.cancelled().await;
        Ok(())
    })
    .with_backoff(plain_backoff(10, 10));
    let spec = SupervisorSpec::builder("bot").child(feed).build().unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    run_for(50).await;
    tree.shutdown_tree("test", "done").await;
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has("DEBUG supervisor::runtime::node::start: starting path=bot/feed"),
        "{text}"
    );
    assert!(
        has("INFO attempt{path=bot/feed child=feed attempt=1}: tracing_spans: connected"),
        "{text}"
    );
    assert!(
        has(
            "WARN supervisor::runtime::node::exit: attempt failed path=bot/feed attempt=1 error=reset"
        ),
        "{text}"
    );
    assert!(
        has("INFO supervisor::runtime::node::start: restarting path=bot/feed attempt=2"),
        "{text}"
    );
    assert!(
        has("INFO attempt{path=bot/feed child=feed attempt=2}: tracing_spans: connected"),
        "{text}"
    );
}
