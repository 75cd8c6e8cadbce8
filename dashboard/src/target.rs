//! One watched process: connected to its socket, or trying again with a bounded backoff.
//! While connected it holds the process's identity, the tree's latest state and its recent
//! events, and carries operators' commands to it; every buffer is bounded.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::lock;
use std::time::Duration;

use serde_json::json;
use supervisor::ipc::{
    CommandRequest, ErrorView, EventView, Message, ProcessInfo, ReceiptView, ReportView, TreeView,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

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
    /// The shortest time between two state reads after events. A large tree's read takes
    /// longer; the relay then waits four times as long as the last read took, so it never
    /// spends more than a fifth of the target's time on it.
    pub refresh_min: Duration,
    /// A state read at least this often without events (heartbeat ages and health move).
    pub refresh_idle: Duration,
    /// How long a command may take before the relay stops waiting for its answer.
    pub command_timeout: Duration,
}

impl Default for TargetSettings {
    /// 1,000 events; reconnect after 100 ms, doubling to 5 s; state at most every 250 ms and
    /// at least every 2 s; commands answered within 10 s.
    fn default() -> Self {
        TargetSettings {
            events: 1_000,
            reconnect_base: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            refresh_min: Duration::from_millis(250),
            refresh_idle: Duration::from_secs(2),
            command_timeout: Duration::from_secs(10),
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
    /// When it was read.
    pub tree_read_at: Option<Instant>,
    /// The most recent events, oldest first.
    pub events: VecDeque<EventView>,
    /// Events the target's journal no longer held, or that the relay fell behind on.
    pub missed: u64,
    /// Events received but no longer held here (beyond [`TargetSettings::events`]).
    pub evicted: u64,
    /// The tree's shutdown report, once it has ended.
    pub report: Option<ReportView>,
    /// How many times a connection was made.
    pub connections: u64,
    /// Why the last connection ended or failed.
    pub last_error: Option<String>,
}

/// Why a command was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandFailure {
    /// The target is not connected now.
    NotConnected,
    /// The target refused it (an unknown path, a phase it does not apply to, ...).
    Refused(ErrorView),
    /// The connection ended, or no answer came in time, before it was answered: it may or
    /// may not have been carried out. Asking again with the same `command_id` is safe.
    Unanswered(String),
}

impl std::fmt::Display for CommandFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandFailure::NotConnected => f.write_str("the target is not connected"),
            CommandFailure::Refused(error) => write!(f, "{}: {}", error.kind, error.message),
            CommandFailure::Unanswered(why) => write!(
                f,
                "{why}; it may have been carried out (asking again with the same command_id is safe)"
            ),
        }
    }
}

/// A command's answer: whether it repeats an earlier one with the same `command_id`, and the
/// receipt.
pub type CommandAnswer = Result<(bool, ReceiptView), CommandFailure>;

struct Pending {
    command: CommandRequest,
    reply: oneshot::Sender<CommandAnswer>,
}

/// A watched process. Dropping it stops watching.
pub struct Target {
    path: PathBuf,
    status: Arc<Mutex<TargetStatus>>,
    changed: watch::Receiver<u64>,
    commands: mpsc::Sender<Pending>,
    settings: TargetSettings,
    task: JoinHandle<()>,
}

impl Target {
    /// Watches the socket at `path`: connects (again whenever the connection ends), reads
    /// the process's identity, the tree's state and its events from the journal on.
    pub fn watch(path: impl AsRef<Path>, settings: TargetSettings) -> Self {
        let path = path.as_ref().to_owned();
        let status = Arc::new(Mutex::new(TargetStatus::default()));
        let (notify, changed) = watch::channel(0);
        let (commands, inbox) = mpsc::channel(16);
        let task = tokio::spawn(watch_loop(
            path.clone(),
            settings,
            Arc::clone(&status),
            notify,
            inbox,
        ));
        Target {
            path,
            status,
            changed,
            commands,
            settings,
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

    /// Reads the status without copying it.
    pub fn with_status<T>(&self, read: impl FnOnce(&TargetStatus) -> T) -> T {
        read(&lock(&self.status))
    }

    /// Waits until the status changes (a new state, event, connection or loss).
    pub async fn changed(&mut self) {
        // The sender lives as long as the watch task; its end is a change too.
        let _ = self.changed.changed().await;
    }

    /// Sends an operator's command to the process and waits for its answer (at most
    /// [`TargetSettings::command_timeout`]).
    pub async fn command(&self, command: CommandRequest) -> CommandAnswer {
        if !lock(&self.status).connected {
            return Err(CommandFailure::NotConnected);
        }
        let (reply, answer) = oneshot::channel();
        let sent = self.commands.try_send(Pending { command, reply });
        if sent.is_err() {
            return Err(CommandFailure::Unanswered(
                "too many commands are waiting for this target".to_owned(),
            ));
        }
        match tokio::time::timeout(self.settings.command_timeout, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(CommandFailure::Unanswered(
                "the connection to the target ended".to_owned(),
            )),
            Err(_) => Err(CommandFailure::Unanswered(format!(
                "no answer within {:?}",
                self.settings.command_timeout
            ))),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where the event stream stands: the run of the tree it belongs to and the next event
/// wanted from it.
#[derive(Default)]
struct Resume {
    run: Option<(u32, u64)>,
    from: u64,
}

async fn watch_loop(
    path: PathBuf,
    settings: TargetSettings,
    status: Arc<Mutex<TargetStatus>>,
    notify: watch::Sender<u64>,
    mut commands: mpsc::Receiver<Pending>,
) {
    let touch = || notify.send_modify(|n| *n = n.wrapping_add(1));
    let mut wait = settings.reconnect_base;
    let mut resume = Resume::default();
    loop {
        let ended = match UnixStream::connect(&path).await {
            Ok(stream) => {
                wait = settings.reconnect_base;
                let mut session = Session {
                    settings: &settings,
                    status: &status,
                    touch: &touch,
                    resume: &mut resume,
                    waiting: HashMap::new(),
                    next_id: 100,
                };
                session.run(stream, &mut commands).await
            }
            Err(error) => format!("cannot connect: {error}"),
        };
        {
            let mut status = lock(&status);
            status.connected = false;
            status.last_error = Some(ended);
        }
        touch();
        // Commands sent meanwhile are refused rather than kept for a later connection.
        let reconnect = tokio::time::sleep(wait);
        tokio::pin!(reconnect);
        loop {
            tokio::select! {
                _ = &mut reconnect => break,
                Some(pending) = commands.recv() => {
                    let _ = pending.reply.send(Err(CommandFailure::NotConnected));
                }
            }
        }
        wait = wait.saturating_mul(2).min(settings.reconnect_max);
    }
}

const HELLO: u64 = 1;
const STATE: u64 = 2;
const SUBSCRIBE: u64 = 3;

/// One connection: hello; then state and the subscription (resumed if it is the same run of
/// the tree); then events, with the state read again after them at a bounded rate, and
/// commands carried both ways.
struct Session<'a, F: Fn()> {
    settings: &'a TargetSettings,
    status: &'a Mutex<TargetStatus>,
    touch: &'a F,
    resume: &'a mut Resume,
    /// Commands sent and not yet answered, by request id.
    waiting: HashMap<u64, oneshot::Sender<CommandAnswer>>,
    next_id: u64,
}

impl<F: Fn()> Session<'_, F> {
    async fn run(&mut self, stream: UnixStream, commands: &mut mpsc::Receiver<Pending>) -> String {
        let (read, write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        // A write that fails (the process closing its end) is not the end: what it sent
        // before, its shutdown report and `bye` among it, is read to the end first.
        let mut write = Writer {
            write,
            broken: None,
        };
        write.send(json!({"id": HELLO, "type": "hello"})).await;
        // A state read in flight (since when), whether events came since the last one, and
        // when the next may be sent.
        let mut reading: Option<Instant> = None;
        let mut events_since = false;
        let mut next_read = Instant::now();
        let mut idle_read = later(Instant::now(), self.settings.refresh_idle);
        loop {
            let now = Instant::now();
            let due = if events_since { next_read } else { idle_read };
            let may_read = reading.is_none() && write.broken.is_none() && self.connected();
            if may_read && now >= due {
                write.send(json!({"id": STATE, "type": "state"})).await;
                reading = Some(now);
                events_since = false;
            }
            let wake = tokio::time::sleep_until(due);
            tokio::select! {
                line = lines.next_line() => {
                    let line = match line {
                        Ok(Some(line)) => line,
                        Ok(None) => {
                            return write
                                .broken
                                .unwrap_or_else(|| "the process closed the connection".to_owned())
                        }
                        Err(error) => return format!("read failed: {error}"),
                    };
                    // A newer process may send what this relay does not know; it is skipped.
                    let Ok(message) = serde_json::from_str::<Message>(&line) else {
                        continue;
                    };
                    match self.absorb(message) {
                        Ok(Seen::Event) => events_since = true,
                        Ok(Seen::Hello) => {
                            let from = self.resume.from;
                            let asked = [
                                json!({"id": STATE, "type": "state"}),
                                json!({"id": SUBSCRIBE, "type": "events.subscribe", "from": from}),
                            ];
                            for request in asked {
                                write.send(request).await;
                            }
                            reading = Some(Instant::now());
                        }
                        Ok(Seen::State) => {
                            let now = Instant::now();
                            let took = reading.take().map_or(Duration::ZERO, |at| now - at);
                            next_read = later(now, self.settings.refresh_min.max(took.saturating_mul(4)));
                            idle_read = later(now, self.settings.refresh_idle.max(took.saturating_mul(8)));
                        }
                        Ok(Seen::Other) => {}
                        Err(reason) => return reason,
                    }
                    (self.touch)();
                }
                Some(pending) = commands.recv() => {
                    let id = self.next_id;
                    self.next_id += 1;
                    let mut request = serde_json::to_value(&pending.command)
                        .unwrap_or_else(|_| json!({}));
                    request["id"] = json!(id);
                    request["type"] = json!("command");
                    if write.send(request).await {
                        self.waiting.insert(id, pending.reply);
                    } else {
                        let why = write.broken.clone().unwrap_or_default();
                        let _ = pending.reply.send(Err(CommandFailure::Unanswered(why)));
                    }
                }
                _ = wake, if may_read => {}
            }
        }
    }

    fn connected(&self) -> bool {
        lock(self.status).connected
    }

    /// Takes in what the process sent; the end of the connection if it said goodbye.
    fn absorb(&mut self, message: Message) -> Result<Seen, String> {
        let mut status = lock(self.status);
        match message {
            Message::Hello { process, .. } => {
                let run = (process.pid, process.started_ms);
                if self.resume.run != Some(run) {
                    // Another run of the tree: its journal starts again.
                    self.resume.run = Some(run);
                    self.resume.from = 0;
                    status.events.clear();
                    status.report = None;
                    status.tree = None;
                    status.tree_read_at = None;
                }
                status.connected = true;
                status.connections += 1;
                status.process = Some(process);
                return Ok(Seen::Hello);
            }
            Message::State { tree, .. } => {
                status.tree = Some(tree);
                status.tree_read_at = Some(Instant::now());
                return Ok(Seen::State);
            }
            Message::Subscribed { missed, .. } | Message::Missed { count: missed } => {
                status.missed += missed;
            }
            Message::Event { event } => {
                self.resume.from = event.seq + 1;
                if status.events.len() >= self.settings.events.max(1) {
                    status.events.pop_front();
                    status.evicted += 1;
                }
                status.events.push_back(event);
                return Ok(Seen::Event);
            }
            Message::Command {
                id,
                repeated,
                receipt,
                ..
            } => {
                if let Some(reply) = self.waiting.remove(&id) {
                    let _ = reply.send(Ok((repeated, receipt)));
                }
            }
            Message::Error { id, error } => {
                if let Some(reply) = self.waiting.remove(&id) {
                    let _ = reply.send(Err(CommandFailure::Refused(error)));
                }
            }
            Message::Report { report } => status.report = Some(report),
            Message::Bye { reason } => return Err(reason),
            _ => {}
        }
        Ok(Seen::Other)
    }
}

/// What a message was, for the session's pacing of state reads.
enum Seen {
    Event,
    /// The `hello`, whose answer asks for a state.
    Hello,
    State,
    Other,
}

/// `now + wait`, a year at most (a setting of any size cannot overflow the clock).
fn later(now: Instant, wait: Duration) -> Instant {
    now + wait.min(Duration::from_secs(365 * 24 * 3600))
}

/// The session's writing half; once a write failed, nothing more is sent.
struct Writer {
    write: OwnedWriteHalf,
    broken: Option<String>,
}

impl Writer {
    /// Sends a request; false if it could not be (now or before).
    async fn send(&mut self, request: serde_json::Value) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let line = format!("{request}\n");
        if let Err(error) = self.write.write_all(line.as_bytes()).await {
            self.broken = Some(format!("cannot send: {error}"));
            return false;
        }
        true
    }
}
