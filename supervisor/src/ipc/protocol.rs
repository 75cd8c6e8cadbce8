//! The messages of the local socket, as JSON lines (see `docs/ipc-protocol.md`). These are
//! the protocol's own shapes, made from the runtime's types, so that the runtime can change
//! without changing what a client reads.

use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::model::{BackoffConfig, ChildKind, ServicePhase};
use crate::observe::{EventKind, LifecycleEvent};
use crate::runtime::{
    ChildState, CommandReceipt, Health, HealthStatus, IntensityUse, ShutdownReport, StopOutcome,
    TreeState,
};

/// The protocol's version, in every `hello`. A change that a client could misread raises it.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest request line read; a longer one ends the connection.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// What a client sends: one JSON object per line, with an `id` the answer repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Chosen by the client; repeated in the answer (events carry none).
    #[serde(default)]
    pub id: u64,
    /// What is asked.
    #[serde(flatten)]
    pub body: RequestBody,
}

/// The kinds of request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum RequestBody {
    /// The protocol version and who the process is.
    #[serde(rename = "hello")]
    Hello,
    /// The tree's state now.
    #[serde(rename = "state")]
    State,
    /// An operator command for one child.
    #[serde(rename = "command")]
    Command(CommandRequest),
    /// The journal's events from `from` on, then live ones, until the tree ends or the client
    /// goes.
    #[serde(rename = "events.subscribe")]
    Subscribe {
        /// The first sequence number wanted (0: everything the journal still holds).
        #[serde(default)]
        from: u64,
    },
    /// The process's last log lines, and with `follow` the live ones after them.
    #[serde(rename = "logs.tail")]
    LogsTail {
        /// How many of the last lines (100 if left out).
        #[serde(default = "default_tail")]
        lines: usize,
        /// Whether live lines follow.
        #[serde(default)]
        follow: bool,
    },
}

fn default_tail() -> usize {
    100
}

/// A command, with who asked and why. `command_id` makes it idempotent: the same id is
/// carried out once, and asked again, answered with the first result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRequest {
    /// The child's path (`bot/execution/order_router`).
    pub path: String,
    /// `restart`, `pause`, `resume`, `quarantine`, `release` or `remove`.
    pub action: String,
    /// Who asks (recorded in the audit event).
    pub requested_by: String,
    /// Why (recorded in the audit event).
    pub reason: String,
    /// The client's key for this command.
    pub command_id: String,
}

/// The actions a `command` may name.
pub const ACTIONS: &[&str] = &[
    "restart",
    "pause",
    "resume",
    "quarantine",
    "release",
    "remove",
];

/// What the process sends: answers (with the request's `id`), events, and a last word before
/// it closes a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Message {
    /// The answer to `hello`.
    #[serde(rename = "hello")]
    Hello {
        /// The request's id.
        id: u64,
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
        /// Who the process is.
        process: ProcessInfo,
    },
    /// The answer to `state`.
    #[serde(rename = "state")]
    State {
        /// The request's id.
        id: u64,
        /// The tree.
        tree: TreeView,
    },
    /// The answer to a `command` that was carried out (or was, under the same `command_id`).
    #[serde(rename = "command")]
    Command {
        /// The request's id.
        id: u64,
        /// The client's key, repeated.
        command_id: String,
        /// Whether this answer repeats an earlier one for the same `command_id`.
        repeated: bool,
        /// What the tree answered.
        receipt: ReceiptView,
    },
    /// The answer to `events.subscribe`: the events follow.
    #[serde(rename = "events.subscribed")]
    Subscribed {
        /// The request's id.
        id: u64,
        /// Events asked for that the journal no longer holds.
        missed: u64,
    },
    /// One lifecycle event of a subscription.
    #[serde(rename = "event")]
    Event {
        /// The event.
        event: EventView,
    },
    /// Events a subscriber missed since the last one it got (it fell behind the live stream).
    #[serde(rename = "events.missed")]
    Missed {
        /// How many.
        count: u64,
    },
    /// The answer to `logs.tail`: the last lines, oldest first.
    #[serde(rename = "logs")]
    Logs {
        /// The request's id.
        id: u64,
        /// The lines.
        lines: Vec<LogLineView>,
    },
    /// One live log line of a `logs.tail` with `follow`.
    #[serde(rename = "log")]
    Log {
        /// The line.
        line: LogLineView,
    },
    /// Live log lines a follower missed (it fell behind).
    #[serde(rename = "logs.missed")]
    LogsMissed {
        /// How many.
        count: u64,
    },
    /// A request that was not carried out.
    #[serde(rename = "error")]
    Error {
        /// The request's id (0 when the line could not be read as a request).
        id: u64,
        /// What went wrong.
        error: ErrorView,
    },
    /// The tree's shutdown report, sent to every client once the tree has ended (before the
    /// `bye`).
    #[serde(rename = "report")]
    Report {
        /// The report.
        report: ReportView,
    },
    /// The process closes this connection, and why.
    #[serde(rename = "bye")]
    Bye {
        /// Why: the tree ended, the client was too slow, a line was too long.
        reason: String,
    },
}

/// The process behind a socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// Its process id.
    pub pid: u32,
    /// The root supervisor's name.
    pub tree: String,
    /// The crate's version.
    pub version: String,
    /// When the tree started (wall clock, milliseconds since the Unix epoch). A tree's
    /// journal starts again at 1 with each run: with `pid` this tells the runs apart.
    pub started_ms: u64,
}

/// A tree's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeView {
    /// The root's name.
    pub name: String,
    /// No child terminated unexpectedly, is unready or stale (a liveness probe).
    pub healthy: bool,
    /// Healthy and not shutting down (a readiness probe).
    pub ready: bool,
    /// Shutdown has begun.
    pub shutting_down: bool,
    /// The root's restart intensity in use (`null` once it has ended).
    pub intensity: Option<IntensityView>,
    /// Its children; nested supervisors hold theirs.
    pub children: Vec<ChildView>,
}

/// A supervisor's restart intensity in use: `restarts` within the last `within_ms`, of the
/// `max_restarts` it tolerates there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntensityView {
    /// Restarts within the window now.
    pub restarts: u32,
    /// The most it tolerates there; one more escalates.
    pub max_restarts: u32,
    /// The window, in milliseconds.
    pub within_ms: u64,
}

/// A child's backoff and circuit breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackoffView {
    /// The first delay, in milliseconds.
    pub base_ms: u64,
    /// The largest delay, in milliseconds.
    pub max_ms: u64,
    /// Running this long resets the backoff, in milliseconds.
    pub cooldown_ms: u64,
    /// `none`, `full` or `equal`.
    pub jitter: String,
    /// The circuit breaker, if it has one.
    pub breaker: Option<BreakerView>,
}

/// A circuit breaker and how close it is to opening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerView {
    /// Failures within the window now.
    pub failures: u32,
    /// It opens at this many within the window.
    pub max_failures: u32,
    /// The window, in milliseconds.
    pub window_ms: u64,
    /// `terminate` or `escalate`.
    pub on_open: String,
}

/// A shutdown report: how each child stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportView {
    /// Who asked for the shutdown.
    pub requested_by: String,
    /// Why.
    pub reason: String,
    /// From the request to the last task gone, in milliseconds.
    pub duration_ms: u64,
    /// Set when a control loop of the tree failed (a bug in the supervisor crate).
    pub internal_error: Option<String>,
    /// The report in words, as the tree's logs print it.
    pub summary: String,
    /// Each child, depth first.
    pub children: Vec<StoppedView>,
    /// Each mailbox's final counts, by name.
    #[serde(default)]
    pub mailboxes: Vec<MailboxView>,
}

/// A mailbox's counts (see `MailboxStats`): every message sent is in one of `queued`
/// (undelivered, once the tree has ended), `dead_lettered`, and `delivered`; at least once,
/// those delivered are `acked`, `rejected`, dead-lettered or `in_doubt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxView {
    /// Its name.
    pub name: String,
    /// How many messages it holds at most.
    pub capacity: u64,
    /// `at_most_once` or `at_least_once`.
    pub delivery: String,
    /// At least once: deliveries of a message before it is dead-lettered.
    pub max_deliveries: Option<u32>,
    /// Messages sent into it.
    pub sent: u64,
    /// Waiting for their first delivery; once the tree has ended, never delivered.
    pub queued: u64,
    /// Received by an attempt, once each.
    pub delivered: u64,
    /// Deliveries after the first.
    pub redelivered: u64,
    /// Acknowledged.
    pub acked: u64,
    /// Rejected as invalid.
    pub rejected: u64,
    /// Delivered, not yet settled; once the tree has ended, held at an abort.
    pub in_doubt: u64,
    /// Given up on.
    pub dead_lettered: u64,
}

impl From<&crate::mailbox::MailboxStats> for MailboxView {
    fn from(stats: &crate::mailbox::MailboxStats) -> Self {
        MailboxView {
            name: stats.name.clone(),
            capacity: stats.capacity as u64,
            delivery: if stats.is_at_least_once() {
                "at_least_once"
            } else {
                "at_most_once"
            }
            .to_owned(),
            max_deliveries: stats.max_deliveries,
            sent: stats.sent,
            queued: stats.queued,
            delivered: stats.delivered,
            redelivered: stats.redelivered,
            acked: stats.acked,
            rejected: stats.rejected,
            in_doubt: stats.in_doubt,
            dead_lettered: stats.dead_lettered,
        }
    }
}

/// How one child stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedView {
    /// Its path.
    pub path: String,
    /// `graceful`, `aborted`, `detached`, `not_running` or `lost`.
    pub outcome: String,
}

/// One child's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildView {
    /// From the root.
    pub path: String,
    /// Its own name.
    pub name: String,
    /// `async`, `blocking` or `supervisor`.
    pub kind: String,
    /// `waiting`, `starting`, `running`, `backing_off`, `stopping`, `paused`, `quarantined`
    /// or `terminated`.
    pub phase: String,
    /// Its current or last attempt (0 before the first).
    pub attempt: u32,
    /// How its last attempt ended.
    pub last_exit: Option<String>,
    /// Its last failure's message.
    pub last_failure: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Restarts since it was added.
    pub restarts: u64,
    /// Failures: errors, panics and timeouts.
    pub failures: u64,
    /// Circuit-breaker trips.
    pub breaker_trips: u64,
    /// Time running, in milliseconds.
    pub uptime_ms: u64,
    /// `healthy`, `excluded`, `not_ready`, `stale` or `terminated`.
    pub health: String,
    /// What is wrong, for `stale` (silent for how long) and `terminated` (why).
    pub health_detail: Option<String>,
    /// `always`, `on_failure` or `never`.
    pub restart: String,
    /// Its backoff and breaker.
    pub backoff: BackoffView,
    /// Its own shutdown policy in words (`null`: its supervisor's).
    pub shutdown: Option<String>,
    /// Siblings it starts after.
    pub after: Vec<String>,
    /// Siblings it requires: it stops while one of them is down.
    pub requires: Vec<String>,
    /// How long it may go without a heartbeat while running, in milliseconds.
    pub heartbeat_timeout_ms: Option<u64>,
    /// How long ago its last heartbeat was, in milliseconds.
    pub heartbeat_age_ms: Option<u64>,
    /// While it backs off, how long until its next attempt, in milliseconds.
    pub restart_in_ms: Option<u64>,
    /// A running nested supervisor's restart intensity in use.
    pub intensity: Option<IntensityView>,
    /// The mailbox it consumes, if it does.
    #[serde(default)]
    pub mailbox: Option<MailboxView>,
    /// A nested supervisor's children.
    pub children: Vec<ChildView>,
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptView {
    /// The tree's id for it: the correlation of its audit event and its effects.
    pub tree_command_id: u64,
    /// The child's path.
    pub path: String,
    /// The child's phase when the command was accepted.
    pub phase: String,
    /// Whether it changed anything (repeating a command changes nothing).
    pub changed: bool,
}

/// One lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// Its tree-wide sequence number.
    pub seq: u64,
    /// Milliseconds since the tree started.
    pub at_ms: u64,
    /// Wall-clock time, in milliseconds since the Unix epoch.
    pub wall_ms: u64,
    /// The child's (or supervisor's) path.
    pub path: String,
    /// The child's incarnation.
    pub generation: u64,
    /// The attempt it concerns.
    pub attempt: u32,
    /// The failure or command it belongs to.
    pub correlation: Option<u64>,
    /// `started`, `phase_changed`, `backing_off`, `terminated`, `restart_scope`, `detached`,
    /// `shutdown_requested`, `shutdown_completed`, `command` or `escalated`.
    pub kind: String,
    /// The event in words, as the tree's logs print it.
    pub text: String,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLineView {
    /// Its number in the buffer, from 1.
    pub seq: u64,
    /// Wall-clock time, in milliseconds since the Unix epoch.
    pub wall_ms: u64,
    /// `TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`.
    pub level: String,
    /// The module or target that logged it.
    pub target: String,
    /// Its message, then its fields as `name=value`.
    pub message: String,
}

/// Why a request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorView {
    /// `bad_request`, `unknown_action`, `command_failed` or `unavailable`.
    pub kind: String,
    /// In words.
    pub message: String,
}

impl ErrorView {
    pub(crate) fn new(kind: &str, message: impl Into<String>) -> Self {
        ErrorView {
            kind: kind.to_owned(),
            message: message.into(),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn kind_name(kind: ChildKind) -> &'static str {
    match kind {
        ChildKind::Async => "async",
        ChildKind::Blocking => "blocking",
        ChildKind::Supervisor => "supervisor",
    }
}

pub(crate) fn phase_name(phase: ServicePhase) -> &'static str {
    match phase {
        ServicePhase::Waiting => "waiting",
        ServicePhase::Starting => "starting",
        ServicePhase::Running => "running",
        ServicePhase::BackingOff => "backing_off",
        ServicePhase::Stopping => "stopping",
        ServicePhase::Paused => "paused",
        ServicePhase::Quarantined => "quarantined",
        ServicePhase::Terminated => "terminated",
    }
}

impl TreeView {
    /// The state, with its health as of `shutting_down`.
    pub(crate) fn new(state: &TreeState, shutting_down: bool) -> Self {
        let health = Health::of(state, shutting_down);
        TreeView {
            name: state.name.clone(),
            healthy: health.healthy,
            ready: health.ready,
            shutting_down,
            intensity: state.intensity.as_ref().map(IntensityView::from),
            children: state.children.iter().map(ChildView::from).collect(),
        }
    }
}

impl From<&IntensityUse> for IntensityView {
    fn from(intensity: &IntensityUse) -> Self {
        IntensityView {
            restarts: intensity.restarts,
            max_restarts: intensity.max_restarts,
            within_ms: millis(intensity.within),
        }
    }
}

impl BackoffView {
    fn new(backoff: &BackoffConfig, failures: u32) -> Self {
        BackoffView {
            base_ms: millis(backoff.base()),
            max_ms: millis(backoff.max()),
            cooldown_ms: millis(backoff.cooldown()),
            jitter: backoff.jitter().to_string(),
            breaker: backoff.circuit_breaker().map(|breaker| BreakerView {
                failures,
                max_failures: breaker.max_failures,
                window_ms: millis(breaker.window),
                on_open: breaker.on_open.to_string(),
            }),
        }
    }
}

impl From<&ShutdownReport> for ReportView {
    fn from(report: &ShutdownReport) -> Self {
        ReportView {
            requested_by: report.requested_by.clone(),
            reason: report.reason.clone(),
            duration_ms: millis(report.duration),
            internal_error: report.internal_error.clone(),
            summary: report.to_string(),
            children: report
                .services
                .iter()
                .map(|service| StoppedView {
                    path: service.path.clone(),
                    outcome: match service.outcome {
                        StopOutcome::Graceful => "graceful",
                        StopOutcome::Aborted => "aborted",
                        StopOutcome::Detached => "detached",
                        StopOutcome::NotRunning => "not_running",
                        StopOutcome::Lost => "lost",
                    }
                    .to_owned(),
                })
                .collect(),
            mailboxes: report.mailboxes.iter().map(MailboxView::from).collect(),
        }
    }
}

impl From<&ChildState> for ChildView {
    fn from(child: &ChildState) -> Self {
        let (health, health_detail) = match &child.health {
            HealthStatus::Healthy => ("healthy", None),
            HealthStatus::Excluded => ("excluded", None),
            HealthStatus::NotReady => ("not_ready", None),
            HealthStatus::Stale { silent } => {
                ("stale", Some(format!("silent for {}ms", millis(*silent))))
            }
            HealthStatus::Terminated(why) => ("terminated", Some(why.clone())),
        };
        ChildView {
            path: child.path.clone(),
            name: child.name.clone(),
            kind: kind_name(child.kind).to_owned(),
            phase: phase_name(child.phase).to_owned(),
            attempt: child.attempt,
            last_exit: child.last_exit.clone(),
            last_failure: child.last_failure.clone(),
            tags: child.tags.clone(),
            restarts: child.stats.restarts,
            failures: child.stats.failures(),
            breaker_trips: child.stats.breaker_trips,
            uptime_ms: millis(child.stats.uptime),
            health: health.to_owned(),
            health_detail,
            restart: child.restart.to_string(),
            backoff: BackoffView::new(&child.backoff, child.breaker_failures),
            shutdown: child.shutdown.map(|policy| policy.to_string()),
            after: child.after.clone(),
            requires: child.requires.clone(),
            heartbeat_timeout_ms: child.heartbeat_timeout.map(millis),
            heartbeat_age_ms: child.heartbeat_age.map(millis),
            restart_in_ms: child.restart_in.map(millis),
            intensity: child.intensity.as_ref().map(IntensityView::from),
            mailbox: child.mailbox.as_ref().map(MailboxView::from),
            children: child.children.iter().map(ChildView::from).collect(),
        }
    }
}

impl From<&CommandReceipt> for ReceiptView {
    fn from(receipt: &CommandReceipt) -> Self {
        ReceiptView {
            tree_command_id: receipt.command_id,
            path: receipt.path.clone(),
            phase: phase_name(receipt.phase).to_owned(),
            changed: receipt.changed,
        }
    }
}

impl From<&LifecycleEvent> for EventView {
    fn from(event: &LifecycleEvent) -> Self {
        let kind = match &event.kind {
            EventKind::Started { .. } => "started",
            EventKind::PhaseChanged { .. } => "phase_changed",
            EventKind::BackingOff { .. } => "backing_off",
            EventKind::Terminated(_) => "terminated",
            EventKind::RestartScope { .. } => "restart_scope",
            EventKind::Detached => "detached",
            EventKind::ShutdownRequested { .. } => "shutdown_requested",
            EventKind::ShutdownCompleted => "shutdown_completed",
            EventKind::Command(_) => "command",
            EventKind::Escalated(_) => "escalated",
            EventKind::DeadLettered { .. } => "dead_lettered",
            EventKind::MailboxDrained { .. } => "mailbox_drained",
        };
        let full = event.to_string();
        // The display's own time and path prefix are fields here.
        let text = full
            .split_once(": ")
            .map_or(full.as_str(), |(_, text)| text)
            .to_owned();
        EventView {
            seq: event.seq,
            at_ms: millis(event.at),
            wall_ms: event.wall.duration_since(UNIX_EPOCH).map_or(0, millis),
            path: event.path.to_string(),
            generation: event.generation,
            attempt: event.attempt,
            correlation: event.correlation,
            kind: kind.to_owned(),
            text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../../../docs/ipc-protocol.md");

    /// The doc's examples, by the tag of their code block (`json request`, `json message`).
    fn examples(tag: &str) -> Vec<&'static str> {
        let fence = format!("```json {tag}\n");
        DOC.split(fence.as_str())
            .skip(1)
            .filter_map(|rest| rest.split("```").next())
            .map(str::trim)
            .collect()
    }

    /// Each example reads as its type and writes back as the same JSON: the doc shows the
    /// shapes the code speaks, one example per shape.
    fn round_trips<T: serde::de::DeserializeOwned + Serialize>(example: &str) -> T {
        let value: T = serde_json::from_str(example).unwrap_or_else(|e| panic!("{example}: {e}"));
        let written: serde_json::Value = serde_json::to_value(&value).unwrap();
        let read: serde_json::Value = serde_json::from_str(example).unwrap();
        assert_eq!(written, read, "{example}");
        value
    }

    #[test]
    fn every_request_in_the_doc_is_one_the_server_reads() {
        let kinds: Vec<String> = examples("request")
            .into_iter()
            .map(|example| match round_trips::<Request>(example).body {
                RequestBody::Hello => "hello".to_owned(),
                RequestBody::State => "state".to_owned(),
                RequestBody::Command(_) => "command".to_owned(),
                RequestBody::Subscribe { .. } => "events.subscribe".to_owned(),
                RequestBody::LogsTail { .. } => "logs.tail".to_owned(),
            })
            .collect();
        assert_eq!(
            kinds,
            ["hello", "state", "command", "events.subscribe", "logs.tail"]
        );
    }

    #[test]
    fn every_message_shape_is_in_the_doc() {
        let kinds: Vec<&str> = examples("message")
            .into_iter()
            .map(|example| match round_trips::<Message>(example) {
                Message::Hello { .. } => "hello",
                Message::State { .. } => "state",
                Message::Command { .. } => "command",
                Message::Subscribed { .. } => "events.subscribed",
                Message::Event { .. } => "event",
                Message::Missed { .. } => "events.missed",
                Message::Logs { .. } => "logs",
                Message::Log { .. } => "log",
                Message::LogsMissed { .. } => "logs.missed",
                Message::Error { .. } => "error",
                Message::Report { .. } => "report",
                Message::Bye { .. } => "bye",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "hello",
                "state",
                "command",
                "events.subscribed",
                "event",
                "events.missed",
                "logs",
                "log",
                "logs.missed",
                "error",
                "report",
                "bye"
            ]
        );
    }

    #[test]
    fn a_request_without_an_id_has_id_zero_and_unknown_fields_are_ignored() {
        let request: Request =
            serde_json::from_str(r#"{"type": "state", "since": "later"}"#).unwrap();
        assert_eq!(request.id, 0);
        assert_eq!(request.body, RequestBody::State);
    }
}
