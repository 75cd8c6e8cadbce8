//! The local control socket (feature `ipc`): the socket file's life, each message shape of
//! `docs/ipc-protocol.md`, commands with audit and idempotency, and clients that misbehave.
//! Real sockets on the real clock; every read is bounded by a watchdog so that a missing
//! message fails the test instead of hanging it.

#![cfg(unix)]

mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use supervisor::ipc::{IpcError, IpcServer, IpcSettings, PROTOCOL_VERSION};
use supervisor::prelude::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

/// A fresh directory for one test's socket.
fn socket_path(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("supervisor-ipc-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("bot.sock")
}

struct Client {
    lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
}

impl Client {
    async fn connect(path: &std::path::Path) -> Client {
        let (read, write) = UnixStream::connect(path).await.unwrap().into_split();
        Client {
            lines: BufReader::new(read).lines(),
            write,
        }
    }

    async fn send(&mut self, request: Value) {
        self.send_raw(&format!("{request}\n")).await;
    }

    async fn send_raw(&mut self, text: &str) {
        self.write.write_all(text.as_bytes()).await.unwrap();
    }

    /// The next message, or `None` when the server closed the connection.
    async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("a message within the watchdog")
            .ok()??;
        Some(serde_json::from_str(&line).unwrap())
    }

    async fn ask(&mut self, request: Value) -> Value {
        self.send(request).await;
        self.next().await.expect("an answer")
    }

    /// Messages until one of `kind` (returned) or the end.
    async fn until(&mut self, kind: &str) -> Option<Value> {
        while let Some(message) = self.next().await {
            if message["type"] == kind {
                return Some(message);
            }
        }
        None
    }
}

#[tokio::test]
async fn hello_names_the_protocol_and_the_process() {
    let path = socket_path("hello");
    let tree = start_bot(vec![idle("feed")]).await;
    let server = IpcServer::start(&tree, &path).unwrap();
    let mut client = Client::connect(&path).await;
    let hello = client.ask(json!({"id": 7, "type": "hello"})).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["id"], 7);
    assert_eq!(hello["protocol"], PROTOCOL_VERSION);
    assert_eq!(hello["process"]["pid"], std::process::id());
    assert_eq!(hello["process"]["tree"], "bot");
    server.stop().await;
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test]
async fn the_socket_is_private_and_removed_when_the_tree_ends() {
    let path = socket_path("lifecycle");
    let tree = start_bot(vec![idle("feed")]).await;
    let _server = IpcServer::start(&tree, &path).unwrap();
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let mut client = Client::connect(&path).await;
    tree.shutdown_tree("test", "done").await;
    // The shutdown report comes first, then the last word.
    let report = client.until("report").await.unwrap();
    assert_eq!(report["report"]["requested_by"], "test");
    assert_eq!(report["report"]["reason"], "done");
    assert_eq!(
        report["report"]["children"],
        json!([{"path": "bot/feed", "outcome": "graceful"}])
    );
    let bye = client.next().await.unwrap();
    assert_eq!(bye["type"], "bye");
    assert_eq!(bye["reason"], "the tree has ended");
    assert_eq!(client.next().await, None, "closed after the bye");
    // The server removes its file as it ends, right after the bye.
    while path.exists() {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_stale_socket_is_replaced_and_a_live_one_or_a_file_is_refused() {
    let path = socket_path("stale");
    // Left by a process that is gone: bound, then closed without removing the file.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let tree = start_bot(vec![idle("feed")]).await;
    let server = IpcServer::start(&tree, &path).unwrap();
    let mut client = Client::connect(&path).await;
    assert_eq!(client.ask(json!({"type": "hello"})).await["type"], "hello");
    // A second server at the same path finds it live.
    let error = IpcServer::start(&tree, &path).err().unwrap();
    assert!(matches!(error, IpcError::InUse(_)), "{error}");
    server.stop().await;
    assert!(!path.exists(), "removed when stopped");
    // Something that is not a socket is never deleted.
    std::fs::write(&path, "precious").unwrap();
    let error = IpcServer::start(&tree, &path).err().unwrap();
    assert!(matches!(error, IpcError::NotASocket(_)), "{error}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test]
async fn state_lists_every_child_with_its_phase_and_counters() {
    let path = socket_path("state");
    let execution = SupervisorSpec::builder("execution")
        .child(idle("order_router"))
        .build()
        .unwrap();
    let tree = start_bot(vec![idle("feed"), ChildSpec::supervisor(execution)]).await;
    let server = IpcServer::start(&tree, &path).unwrap();
    let mut client = Client::connect(&path).await;
    let state = client.ask(json!({"id": 1, "type": "state"})).await;
    assert_eq!(state["type"], "state");
    assert_eq!(state["tree"]["name"], "bot");
    let feed = &state["tree"]["children"][0];
    assert_eq!(feed["path"], "bot/feed");
    assert_eq!(feed["kind"], "async");
    assert_eq!(feed["phase"], "running");
    assert_eq!(feed["attempt"], 1);
    assert_eq!(feed["health"], "healthy");
    assert_eq!(feed["restarts"], 0);
    assert_eq!(feed["restart"], "on_failure");
    assert_eq!(feed["restart_in_ms"], Value::Null);
    assert_eq!(state["tree"]["healthy"], true);
    assert_eq!(state["tree"]["ready"], true);
    assert_eq!(
        state["tree"]["intensity"],
        json!({"restarts": 0, "max_restarts": 10, "within_ms": 60_000})
    );
    let execution = &state["tree"]["children"][1];
    assert_eq!(execution["kind"], "supervisor");
    assert_eq!(execution["intensity"]["max_restarts"], 10);
    assert_eq!(
        execution["children"][0]["path"],
        "bot/execution/order_router"
    );
    server.stop().await;
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test]
async fn a_command_is_carried_out_once_per_command_id_and_audited() {
    let path = socket_path("command");
    let starts = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&starts);
    let feed = service_fn("feed", move |ctx| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move { ctx.cancelled().await }
    });
    let tree = start_bot(vec![feed]).await;
    let server = IpcServer::start(&tree, &path).unwrap();
    let mut watcher = Client::connect(&path).await;
    let subscribed = watcher
        .ask(json!({"id": 1, "type": "events.subscribe", "from": 0}))
        .await;
    assert_eq!(subscribed["type"], "events.subscribed");
    let mut operator = Client::connect(&path).await;
    let command = json!({
        "id": 2, "type": "command", "path": "bot/feed", "action": "restart",
        "requested_by": "alice", "reason": "stale quotes", "command_id": "c-1",
    });
    let first = operator.ask(command.clone()).await;
    assert_eq!(first["type"], "command");
    assert_eq!(first["command_id"], "c-1");
    assert_eq!(first["repeated"], false);
    assert_eq!(first["receipt"]["path"], "bot/feed");
    assert_eq!(first["receipt"]["changed"], true);
    // The same id again (a retry after a lost answer): answered, not carried out again.
    let again = operator.ask(command).await;
    assert_eq!(again["repeated"], true);
    assert_eq!(again["receipt"], first["receipt"]);
    // The audit event, then the restart it caused, correlated with it.
    let audit = loop {
        let event = watcher.until("event").await.unwrap();
        if event["event"]["kind"] == "command" {
            break event;
        }
    };
    let text = audit["event"]["text"].as_str().unwrap();
    assert!(
        text.contains("alice") && text.contains("stale quotes"),
        "{text}"
    );
    let tree_id = first["receipt"]["tree_command_id"].clone();
    assert_eq!(audit["event"]["correlation"], tree_id);
    loop {
        let event = watcher.until("event").await.unwrap();
        if event["event"]["kind"] == "started" {
            assert_eq!(event["event"]["attempt"], 2);
            assert_eq!(event["event"]["correlation"], tree_id);
            break;
        }
    }
    assert_eq!(starts.load(Ordering::SeqCst), 2, "restarted once");
    server.stop().await;
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test]
async fn bad_requests_get_typed_errors_and_the_connection_stays() {
    let path = socket_path("errors");
    let tree = start_bot(vec![idle("feed")]).await;
    let server = IpcServer::start(&tree, &path).unwrap();
    let mut client = Client::connect(&path).await;
    client.send_raw("this is not json\n").await;
    let error = client.next().await.unwrap();
    assert_eq!(
        (error["type"].clone(), error["error"]["kind"].clone()),
        (json!("error"), json!("bad_request"))
    );
    let error = client.ask(json!({"id": 3, "type": "reboot"})).await;
    assert_eq!(
        (error["id"].clone(), error["error"]["kind"].clone()),
        (json!(3), json!("bad_request"))
    );
    let error = client
        .ask(
            json!({"id": 4, "type": "command", "path": "bot/feed", "action": "explode",
                    "requested_by": "bob", "reason": "?", "command_id": "c-9"}),
        )
        .await;
    assert_eq!(error["error"]["kind"], "unknown_action");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("restart, pause")
    );
    let error = client
        .ask(
            json!({"id": 5, "type": "command", "path": "bot/fed", "action": "pause",
                    "requested_by": "bob", "reason": "?", "command_id": "c-10"}),
        )
        .await;
    assert_eq!(error["error"]["kind"], "command_failed");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bot/feed"),
        "{error}"
    );
    // Still answering.
    assert_eq!(client.ask(json!({"id": 6, "type": "hello"})).await["id"], 6);
    server.stop().await;
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test]
async fn an_overlong_line_ends_the_connection_with_a_reason() {
    let path = socket_path("overlong");
    let tree = start_bot(vec![idle("feed")]).await;
    let server = IpcServer::start(&tree, &path).unwrap();
    let mut client = Client::connect(&path).await;
    let line = "x".repeat(supervisor::ipc::MAX_REQUEST_BYTES + 1);
    client.send_raw(&line).await;
    let bye = client.until("bye").await.unwrap();
    assert!(
        bye["reason"].as_str().unwrap().contains("longer than"),
        "{bye}"
    );
    // Others are served as before.
    let mut other = Client::connect(&path).await;
    assert_eq!(other.ask(json!({"type": "hello"})).await["type"], "hello");
    server.stop().await;
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_and_the_tree_runs_on() {
    let path = socket_path("slow");
    // A child failing as fast as it can: a flood of events.
    let flapping = service_fn("flapping", |_ctx| async {
        tokio::task::yield_now().await;
        Err::<(), _>(std::io::Error::other("flap"))
    })
    .with_backoff(
        BackoffConfig::new(Duration::from_millis(1), Duration::from_millis(1))
            .with_jitter(Jitter::None)
            .without_circuit_breaker(),
    );
    let spec = SupervisorSpec::builder("bot")
        .without_intensity_limit()
        .child(flapping)
        .child(idle("feed"))
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    // A small queue, and no stall limit to race with: the sleeper reads only after the flood.
    let settings = IpcSettings {
        queue: 64,
        stalled_after: Duration::from_secs(3_600),
        ..IpcSettings::default()
    };
    let server = IpcServer::start_with_settings(&tree, &path, settings).unwrap();
    let mut sleeper = Client::connect(&path).await;
    sleeper
        .send(json!({"id": 1, "type": "events.subscribe"}))
        .await;
    // It reads nothing while another client, which keeps up, sees the flood go by: far more
    // events than the sleeper's queue and socket buffer hold.
    let mut other = Client::connect(&path).await;
    other
        .ask(json!({"id": 2, "type": "events.subscribe"}))
        .await;
    for _ in 0..5_000 {
        other.until("event").await.expect("events");
    }
    // Reading now: whatever was queued, then the reason, then the end.
    let bye = sleeper.until("bye").await.expect("dropped with a reason");
    assert!(bye["reason"].as_str().unwrap().contains("behind"), "{bye}");
    assert_eq!(sleeper.next().await, None);
    let mut third = Client::connect(&path).await;
    let state = third.ask(json!({"type": "state"})).await;
    assert!(
        state["tree"]["children"][0]["restarts"].as_u64().unwrap() >= 500,
        "{state}"
    );
    server.stop().await;
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test]
async fn a_subscription_replays_the_journal_then_ends_with_the_tree() {
    let path = socket_path("replay");
    let tree = start_bot(vec![idle("feed")]).await;
    let server = IpcServer::start(&tree, &path).unwrap();
    let mut client = Client::connect(&path).await;
    let subscribed = client
        .ask(json!({"id": 9, "type": "events.subscribe", "from": 0}))
        .await;
    assert_eq!(
        (subscribed["id"].clone(), subscribed["missed"].clone()),
        (json!(9), json!(0))
    );
    let first = client.until("event").await.unwrap();
    assert_eq!(first["event"]["seq"], 1, "from the journal's start");
    assert_eq!(first["event"]["path"], "bot/feed");
    let started = loop {
        let event = client.until("event").await.unwrap();
        if event["event"]["kind"] == "started" {
            break event;
        }
    };
    assert_eq!(started["event"]["attempt"], 1);
    tree.shutdown_tree("test", "done").await;
    let mut kinds = Vec::new();
    while let Some(message) = client.next().await {
        if message["type"] == "event" {
            kinds.push(message["event"]["kind"].as_str().unwrap().to_owned());
        } else {
            kinds.push(message["type"].as_str().unwrap().to_owned());
        }
    }
    // Every event of the shutdown, then the report, then the last word.
    assert_eq!(
        kinds
            .iter()
            .rev()
            .take(3)
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["bye", "report", "shutdown_completed"],
        "{kinds:?}"
    );
    drop(server);
}

#[tokio::test]
async fn logs_tail_serves_the_last_lines_then_follows() {
    use supervisor::ipc::LogBuffer;
    use tracing_subscriber::layer::SubscriberExt;

    let path = socket_path("logs");
    let logs = LogBuffer::new(3);
    let subscriber = tracing_subscriber::registry().with(logs.layer());
    // This test's own lines only: the subscriber is this thread's while a guard lives.
    let _guard = tracing::subscriber::set_default(subscriber);
    // The tree logs its own start into it too; the test's lines come after.
    let tree = start_bot(vec![idle("feed")]).await;
    let settings = IpcSettings {
        logs: Some(logs.clone()),
        ..IpcSettings::default()
    };
    let server = IpcServer::start_with_settings(&tree, &path, settings).unwrap();
    for n in 1..=5 {
        tracing::info!(n, "line");
    }
    let mut client = Client::connect(&path).await;
    // The buffer keeps the last three.
    let tail = client
        .ask(json!({"id": 1, "type": "logs.tail", "lines": 10}))
        .await;
    let messages: Vec<&str> = tail["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["line n=3", "line n=4", "line n=5"]);
    assert_eq!(tail["lines"][0]["level"], "INFO");
    let tail = client
        .ask(json!({"id": 2, "type": "logs.tail", "lines": 1, "follow": true}))
        .await;
    assert_eq!(tail["lines"][0]["message"], "line n=5");
    tracing::warn!("after");
    let live = client.until("log").await.unwrap();
    assert_eq!(
        (
            live["line"]["level"].clone(),
            live["line"]["message"].clone()
        ),
        (json!("WARN"), json!("after"))
    );
    let last = tail["lines"][0]["seq"].as_u64().unwrap();
    assert_eq!(live["line"]["seq"], last + 1);
    // Without a buffer: unavailable.
    let other_path = socket_path("nologs");
    let plain = IpcServer::start(&tree, &other_path).unwrap();
    let mut other = Client::connect(&other_path).await;
    let error = other.ask(json!({"id": 3, "type": "logs.tail"})).await;
    assert_eq!(error["error"]["kind"], "unavailable");
    plain.stop().await;
    server.stop().await;
    tree.shutdown_tree("test", "done").await;
}
