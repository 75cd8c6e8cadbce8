//! One watched process: connected to its socket, or trying again with a bounded backoff.
//! While connected it holds the process's identity, the tree's latest state and its recent
//! events; every buffer is bounded.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::json;
use supervisor::ipc::{EventView, Message, ProcessInfo, TreeView};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How a target is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetSettings {
    /// Events kept per target (the most recent).
    pub events: usize,
    /// The first wait before connecting again; doubled per failed try, up to
    /// `reconnect_max`.
    pub reconnect_base: Duration,
    /// The longest wait between tries.
    pub reconnect_max: Duration,
}

impl Default for TargetSettings {
    /// 1,000 events; reconnect after 100 ms, doubling to 5 s.
    fn default() -> Self {
        TargetSettings {
            events: 1_000,
            reconnect_base: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
        }
    }
}

/// What is known of a target now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetStatus {
    /// Connected, and the `hello` answered.
    pub connected: bool,
    /// Who the process is (from its last `hello`).
    pub process: Option<ProcessInfo>,
    /// The tree as last read (kept while disconnected, to show what was last seen).
    pub tree: Option<TreeView>,
    /// The most recent events, oldest first.
    pub events: VecDeque<EventView>,
    /// Events the target's journal no longer held, or that the relay fell behind on.
    pub missed: u64,
    /// How many times a connection was made.
    pub connections: u64,
    /// Why the last connection ended or failed.
    pub last_error: Option<String>,
}

/// A watched process. Dropping it stops watching.
pub struct Target {
    path: PathBuf,
    status: Arc<Mutex<TargetStatus>>,
    changed: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl Target {
    /// Watches the socket at `path`: connects (again whenever the connection ends), reads
    /// the process's identity, the tree's state and its events from the journal on.
    pub fn watch(path: impl AsRef<Path>, settings: TargetSettings) -> Self {
        let path = path.as_ref().to_owned();
        let status = Arc::new(Mutex::new(TargetStatus::default()));
        let (notify, changed) = watch::channel(0);
        let task = tokio::spawn(watch_loop(
            path.clone(),
            settings,
            Arc::clone(&status),
            notify,
        ));
        Target {
            path,
            status,
            changed,
            task,
        }
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What is known now.
    pub fn status(&self) -> TargetStatus {
        lock(&self.status).clone()
    }

    /// Waits until the status changes (a new state, event, connection or loss).
    pub async fn changed(&mut self) {
        // The sender lives as long as the watch task; its end is a change too.
        let _ = self.changed.changed().await;
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(status: &Mutex<TargetStatus>) -> MutexGuard<'_, TargetStatus> {
    status
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn watch_loop(
    path: PathBuf,
    settings: TargetSettings,
    status: Arc<Mutex<TargetStatus>>,
    notify: watch::Sender<u64>,
) {
    let touch = || notify.send_modify(|n| *n = n.wrapping_add(1));
    let mut wait = settings.reconnect_base;
    // The next event wanted: a reconnect resumes after the last one seen.
    let mut from = 0;
    loop {
        let ended = match UnixStream::connect(&path).await {
            Ok(stream) => {
                wait = settings.reconnect_base;
                session(stream, &settings, &status, &mut from, &touch).await
            }
            Err(error) => format!("cannot connect: {error}"),
        };
        {
            let mut status = lock(&status);
            status.connected = false;
            status.last_error = Some(ended);
        }
        touch();
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(settings.reconnect_max);
    }
}

/// One connection: hello, state, subscription; then events, with a fresh state after each
/// batch of them. Returns why it ended.
async fn session(
    stream: UnixStream,
    settings: &TargetSettings,
    status: &Mutex<TargetStatus>,
    from: &mut u64,
    touch: &impl Fn(),
) -> String {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let requests = [
        json!({"id": 1, "type": "hello"}),
        json!({"id": 2, "type": "state"}),
        json!({"id": 3, "type": "events.subscribe", "from": *from}),
    ];
    for request in requests {
        if let Err(error) = write.write_all(format!("{request}\n").as_bytes()).await {
            return format!("cannot send: {error}");
        }
    }
    let mut state_asked = true;
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => return "the process closed the connection".to_owned(),
            Err(error) => return format!("read failed: {error}"),
        };
        let message = match serde_json::from_str::<Message>(&line) {
            Ok(message) => message,
            // A newer process may send what this relay does not know; it is skipped.
            Err(_) => continue,
        };
        let mut ask_state = false;
        {
            let mut status = lock(status);
            match message {
                Message::Hello { process, .. } => {
                    status.connected = true;
                    status.connections += 1;
                    status.process = Some(process);
                }
                Message::State { tree, .. } => {
                    status.tree = Some(tree);
                    state_asked = false;
                }
                Message::Subscribed { missed, .. } | Message::Missed { count: missed } => {
                    status.missed += missed;
                }
                Message::Event { event } => {
                    *from = event.seq + 1;
                    if status.events.len() >= settings.events.max(1) {
                        status.events.pop_front();
                    }
                    status.events.push_back(event);
                    ask_state = !state_asked;
                }
                Message::Bye { reason } => return reason,
                _ => {}
            }
        }
        touch();
        if ask_state {
            // One state request in flight at a time: a burst of events asks once.
            state_asked = true;
            let request = json!({"id": 2, "type": "state"});
            if let Err(error) = write.write_all(format!("{request}\n").as_bytes()).await {
                return format!("cannot send: {error}");
            }
        }
    }
}
