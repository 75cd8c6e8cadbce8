//! The server: accepts local clients and answers them, one task per connection. Nothing runs
//! but the accept loop while no client is connected; every queue is bounded, and a client
//! that does not keep up is dropped with a reason, never waited for.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::logs::LogBuffer;
use super::protocol::{
    ACTIONS, CommandRequest, ErrorView, EventView, MAX_REQUEST_BYTES, Message, PROTOCOL_VERSION,
    ProcessInfo, ReceiptView, ReportView, Request, RequestBody, TreeView,
};
use super::socket::{self, IpcError, SocketFile};
use crate::SupervisorHandle;
use crate::error::CommandError;
use crate::runtime::CommandReceipt;

/// How a server treats its clients.
#[derive(Debug, Clone)]
pub struct IpcSettings {
    /// Messages queued for one client (at least 2); a client that falls this far behind is
    /// dropped, its last message a `bye` with the reason. 1,024 by default.
    pub queue: usize,
    /// A client that takes nothing for this long is dropped. 10 s by default.
    pub stalled_after: std::time::Duration,
    /// Where `logs.tail` reads from: a [`LogBuffer`] whose layer the host added to its
    /// `tracing` subscriber. None by default (then `logs.tail` is `unavailable`).
    pub logs: Option<LogBuffer>,
}

impl Default for IpcSettings {
    fn default() -> Self {
        IpcSettings {
            queue: 1024,
            stalled_after: std::time::Duration::from_secs(10),
            logs: None,
        }
    }
}
/// Command answers kept for repeated `command_id`s.
const REMEMBERED_COMMANDS: usize = 1024;

/// A tree's local control socket (feature `ipc`): a Unix domain socket, mode 0600, speaking
/// the JSON-lines protocol of `docs/ipc-protocol.md`. It ends when the tree ends, when
/// [`stop`](Self::stop) is called or when it is dropped, and removes its socket file then.
///
/// ```
/// use supervisor::ipc::IpcServer;
/// use supervisor::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let spec = SupervisorSpec::builder("bot")
///     .child(service_fn("feed", |ctx| async move { ctx.cancelled().await }))
///     .build()?;
/// let config = SupervisorConfig::default().without_signal_handler();
/// let tree = Supervisor::start_with_config(spec, config).await?;
/// let path = std::env::temp_dir().join(format!("bot-{}.sock", std::process::id()));
/// let server = IpcServer::start(&tree, &path)?;
/// // The relay (or `socat - UNIX-CONNECT:<path>`) speaks JSON lines on it.
/// tree.shutdown_tree("example", "done").await;
/// server.stop().await;
/// assert!(!path.exists(), "removed with the server");
/// # Ok(())
/// # }
/// ```
pub struct IpcServer {
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
    path: std::path::PathBuf,
}

impl IpcServer {
    /// Opens the socket at `path` and serves `tree` on it. A socket left at `path` by a
    /// process that is gone is replaced; one that a live process serves, or a file that is not
    /// a socket, is left alone and reported.
    ///
    /// # Errors
    ///
    /// [`IpcError`] when the path is in use, is not a socket, cannot be bound, or outside a
    /// Tokio runtime.
    pub fn start(tree: &SupervisorHandle, path: impl AsRef<Path>) -> Result<Self, IpcError> {
        Self::start_with_settings(tree, path, IpcSettings::default())
    }

    /// Like [`start`](Self::start), with other [`IpcSettings`].
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_with_settings(
        tree: &SupervisorHandle,
        path: impl AsRef<Path>,
        settings: IpcSettings,
    ) -> Result<Self, IpcError> {
        let settings = IpcSettings {
            queue: settings.queue.max(2),
            ..settings
        };
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| IpcError::NoRuntime)?;
        let bound = {
            // Binding registers with the runtime's reactor.
            let _entered = runtime.enter();
            socket::bind(path.as_ref())?
        };
        let stop = CancellationToken::new();
        let shared = Arc::new(Shared {
            tree: tree.clone(),
            commands: Mutex::new(Remembered::default()),
            settings,
            report: std::sync::OnceLock::new(),
        });
        let task = runtime.spawn(serve(bound.listener, bound.file, shared, stop.clone()));
        Ok(IpcServer {
            stop,
            task: Some(task),
            path: path.as_ref().to_owned(),
        })
    }

    /// Where the socket is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection (each is told why), removes the socket file and returns once
    /// the server has ended.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            // Its end is what was asked for; a panic in it has nothing left to undo.
            let _ = task.await;
        }
    }
}

impl Drop for IpcServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// What every connection shares.
struct Shared {
    tree: SupervisorHandle,
    /// Held while a command is carried out, so that one `command_id` runs once.
    commands: Mutex<Remembered>,
    settings: IpcSettings,
    /// The shutdown report, once the tree has ended.
    report: std::sync::OnceLock<ReportView>,
}

/// The answers of the last commands, by the client's `command_id`.
#[derive(Default)]
struct Remembered {
    answers: HashMap<String, ReceiptView>,
    order: VecDeque<String>,
}

impl Remembered {
    fn keep(&mut self, command_id: &str, receipt: ReceiptView) {
        if self.order.len() >= REMEMBERED_COMMANDS
            && let Some(oldest) = self.order.pop_front()
        {
            self.answers.remove(&oldest);
        }
        self.order.push_back(command_id.to_owned());
        self.answers.insert(command_id.to_owned(), receipt);
    }
}

async fn serve(
    listener: tokio::net::UnixListener,
    file: SocketFile,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let tree = shared.tree.clone();
    let ended = async move { tree.wait_for_drain().await };
    tokio::pin!(ended);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, Arc::clone(&shared), stop.child_token()));
                }
                Err(error) => tracing::warn!(path = %file.path().display(), %error, "ipc: accept failed"),
            },
            report = &mut ended => {
                // Read by each connection as it closes.
                let _ = shared.report.set(ReportView::from(&report));
                break;
            }
            _ = stop.cancelled() => break,
        }
    }
    // Connections end with the server, each told why.
    stop.cancel();
    file.remove();
}

/// One client: requests read line by line, answers and events written by a writer task from
/// a bounded queue.
async fn connection(stream: UnixStream, shared: Arc<Shared>, stop: CancellationToken) {
    let (read, write) = stream.into_split();
    let settings = shared.settings.clone();
    let (queue, outbox) = mpsc::channel(settings.queue);
    let closing = CancellationToken::new();
    let writer = tokio::spawn(write_loop(
        write,
        outbox,
        closing.clone(),
        settings.stalled_after,
    ));
    let mut client = Client {
        shared,
        queue,
        closing: closing.clone(),
        subscription: None,
        following: None,
    };
    let reason = tokio::select! {
        reason = client.read_loop(read) => reason,
        _ = stop.cancelled() => shutdown_reason(&client.shared.tree),
        _ = closing.cancelled() => {
            tracing::warn!(queue = settings.queue, "ipc: dropping a client that fell behind");
            format!("the client fell {} messages behind; it is dropped", settings.queue)
        }
    };
    for task in [client.subscription.take(), client.following.take()]
        .into_iter()
        .flatten()
    {
        task.abort();
    }
    if let Some(report) = client.shared.report.get() {
        // Only if the slot kept for the `bye` stays free.
        let _ = queue_or_close(
            &client.queue,
            &client.closing,
            Message::Report {
                report: report.clone(),
            },
        );
    }
    // The queue keeps a slot for this.
    let _ = client.queue.try_send(Message::Bye { reason });
    drop(client);
    // What is queued goes out while the client reads; one that reads nothing for
    // `stalled_after` is given up on by the writer.
    let _ = writer.await;
}

fn shutdown_reason(tree: &SupervisorHandle) -> String {
    if tree.is_shutting_down() {
        "the tree has ended".to_owned()
    } else {
        "the server was stopped".to_owned()
    }
}

struct Client {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Message>,
    /// Cancelled when the client's queue overflowed: it is dropped.
    closing: CancellationToken,
    subscription: Option<JoinHandle<()>>,
    /// The task forwarding live log lines, for `logs.tail` with `follow`.
    following: Option<JoinHandle<()>>,
}

impl Client {
    /// Reads and answers requests until the client goes or sends something unreadable;
    /// returns why the connection ends.
    async fn read_loop(&mut self, read: OwnedReadHalf) -> String {
        let mut reader = BufReader::new(read);
        loop {
            let line = match read_line(&mut reader).await {
                Ok(Some(line)) => line,
                Ok(None) => return "the client closed the connection".to_owned(),
                Err(reason) => return reason,
            };
            if line.trim().is_empty() {
                continue;
            }
            let message = match serde_json::from_str::<Request>(&line) {
                Ok(request) => self.answer(request).await,
                Err(error) => Some(Message::Error {
                    id: request_id(&line),
                    error: ErrorView::new("bad_request", error.to_string()),
                }),
            };
            if let Some(message) = message {
                self.send(message);
            }
        }
    }

    /// Queues a message; a queue that is full but for the slot kept for the last word means
    /// the client is not keeping up: it is dropped.
    fn send(&self, message: Message) {
        if !queue_or_close(&self.queue, &self.closing, message) {
            tracing::debug!("ipc: a client's queue is full");
        }
    }

    async fn answer(&mut self, request: Request) -> Option<Message> {
        let id = request.id;
        match request.body {
            RequestBody::Hello => Some(Message::Hello {
                id,
                protocol: PROTOCOL_VERSION,
                process: ProcessInfo {
                    pid: std::process::id(),
                    tree: self.shared.tree.name().to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    started_ms: self
                        .shared
                        .tree
                        .started_wall()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |since| {
                            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
                        }),
                },
            }),
            RequestBody::State => {
                let tree = &self.shared.tree;
                let state = tree.current_state().await;
                Some(Message::State {
                    id,
                    tree: TreeView::new(&state, tree.is_shutting_down()),
                })
            }
            RequestBody::Command(command) => Some(self.command(id, command).await),
            RequestBody::Subscribe { from } => {
                self.subscribe(id, from);
                None
            }
            RequestBody::LogsTail { lines, follow } => self.logs(id, lines, follow),
        }
    }

    /// The last `lines` log lines; with `follow`, a task forwards the live ones after them
    /// (the answer is then queued here, before any of them: `None`).
    fn logs(&mut self, id: u64, lines: usize, follow: bool) -> Option<Message> {
        let Some(buffer) = &self.shared.settings.logs else {
            return Some(Message::Error {
                id,
                error: ErrorView::new(
                    "unavailable",
                    "this process collects no log lines (see supervisor::ipc::LogBuffer)",
                ),
            });
        };
        if let Some(previous) = self.following.take() {
            previous.abort();
        }
        if !follow {
            return Some(Message::Logs {
                id,
                lines: buffer.tail(lines),
            });
        }
        let (tail, mut live) = buffer.follow(lines);
        let queue = self.queue.clone();
        let closing = self.closing.clone();
        // Queued before the task can send a live line: the tail comes first. A full queue
        // ends the connection (through `closing`).
        if !queue_or_close(&queue, &closing, Message::Logs { id, lines: tail }) {
            return None;
        }
        self.following = Some(tokio::spawn(async move {
            loop {
                let message = match live.recv().await {
                    Ok(line) => Message::Log { line },
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(count)) => {
                        Message::LogsMissed { count }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                if !queue_or_close(&queue, &closing, message) {
                    return;
                }
            }
        }));
        None
    }

    async fn command(&self, id: u64, command: CommandRequest) -> Message {
        if !ACTIONS.contains(&command.action.as_str()) {
            return Message::Error {
                id,
                error: ErrorView::new(
                    "unknown_action",
                    format!(
                        "unknown action `{}`; expected one of: {}",
                        command.action,
                        ACTIONS.join(", ")
                    ),
                ),
            };
        }
        let mut remembered = self.shared.commands.lock().await;
        if let Some(receipt) = remembered.answers.get(&command.command_id) {
            return Message::Command {
                id,
                command_id: command.command_id,
                repeated: true,
                receipt: receipt.clone(),
            };
        }
        match run(&self.shared.tree, &command).await {
            Ok(receipt) => {
                let receipt = ReceiptView::from(&receipt);
                remembered.keep(&command.command_id, receipt.clone());
                Message::Command {
                    id,
                    command_id: command.command_id,
                    repeated: false,
                    receipt,
                }
            }
            Err(error) => Message::Error {
                id,
                error: ErrorView::new("command_failed", error.to_string()),
            },
        }
    }

    /// Forwards the journal from `from`, then live events, into the client's queue until the
    /// tree ends (a `bye` follows) or the connection does. One subscription per connection:
    /// a second replaces the first.
    fn subscribe(&mut self, id: u64, from: u64) {
        if let Some(previous) = self.subscription.take() {
            previous.abort();
        }
        let mut events = self.shared.tree.subscribe_from(from);
        let queue = self.queue.clone();
        let closing = self.closing.clone();
        let send = move |message: Message| queue_or_close(&queue, &closing, message);
        self.subscription = Some(tokio::spawn(async move {
            // The count of events the journal no longer holds comes first, as `Err`.
            let mut first = events.next().await;
            let missed = match first {
                Some(Err(crate::observe::Missed(n))) => {
                    first = None;
                    n
                }
                _ => 0,
            };
            if !send(Message::Subscribed { id, missed }) {
                return;
            }
            let mut item = match first {
                Some(item) => Some(item),
                None => events.next().await,
            };
            while let Some(next) = item {
                let message = match next {
                    Ok(event) => Message::Event {
                        event: EventView::from(&event),
                    },
                    Err(crate::observe::Missed(count)) => Message::Missed { count },
                };
                if !send(message) {
                    return;
                }
                item = events.next().await;
            }
        }));
    }
}

/// Queues `message` unless only the slot kept for the connection's last word is left: then
/// the client has fallen behind, and `closing` ends the connection.
fn queue_or_close(
    queue: &mpsc::Sender<Message>,
    closing: &CancellationToken,
    message: Message,
) -> bool {
    if queue.capacity() > 1 && queue.try_send(message).is_ok() {
        return true;
    }
    closing.cancel();
    false
}

async fn run(
    tree: &SupervisorHandle,
    command: &CommandRequest,
) -> Result<CommandReceipt, CommandError> {
    let (path, by, why) = (&*command.path, &*command.requested_by, &*command.reason);
    match command.action.as_str() {
        "restart" => tree.restart_child(path, by, why).await,
        "pause" => tree.pause_child(path, by, why).await,
        "resume" => tree.resume_child(path, by, why).await,
        "quarantine" => tree.quarantine_child(path, by, why).await,
        "release" => tree.release_child(path, by, why).await,
        _ => tree.remove_child(path, by, why).await,
    }
}

/// The request's `id`, if the line is JSON with one (for the error about it).
fn request_id(line: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|value| value.get("id").and_then(serde_json::Value::as_u64))
        .unwrap_or(0)
}

/// The next line, without its newline; `None` at the end of the stream; `Err` with the
/// reason for a line longer than [`MAX_REQUEST_BYTES`], invalid UTF-8 or a read error.
async fn read_line(reader: &mut BufReader<OwnedReadHalf>) -> Result<Option<String>, String> {
    let mut line = Vec::new();
    loop {
        let available = reader
            .fill_buf()
            .await
            .map_err(|error| format!("read failed: {error}"))?;
        if available.is_empty() {
            return match line.is_empty() {
                true => Ok(None),
                // A last line without a newline still counts.
                false => String::from_utf8(line).map(Some).map_err(|_| not_utf8()),
            };
        }
        let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (&available[..end], Some(end + 1)),
            None => (available, None),
        };
        if line.len() + chunk.len() > MAX_REQUEST_BYTES {
            return Err(format!(
                "a request line was longer than {MAX_REQUEST_BYTES} bytes"
            ));
        }
        line.extend_from_slice(chunk);
        let used = found.unwrap_or(available.len());
        reader.consume(used);
        if found.is_some() {
            return String::from_utf8(line).map(Some).map_err(|_| not_utf8());
        }
    }
}

fn not_utf8() -> String {
    "a request line was not UTF-8".to_owned()
}

/// Writes queued messages as JSON lines until the queue closes, then shuts the socket. A
/// write that fails (the client went) or waits `stalled_after` (the client reads nothing) ends
/// the connection.
async fn write_loop(
    mut write: OwnedWriteHalf,
    mut outbox: mpsc::Receiver<Message>,
    closing: CancellationToken,
    stalled_after: std::time::Duration,
) {
    while let Some(message) = outbox.recv().await {
        let line = json_line(&message);
        let written = tokio::time::timeout(stalled_after, write.write_all(&line)).await;
        if !matches!(written, Ok(Ok(()))) {
            // Gone, or reading nothing: dropped.
            closing.cancel();
            return;
        }
    }
    let _ = write.shutdown().await;
}

fn json_line(message: &Message) -> Vec<u8> {
    let mut line = serde_json::to_vec(message).unwrap_or_default();
    line.push(b'\n');
    line
}
