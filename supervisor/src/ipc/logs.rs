//! The last lines of the process's log, for `logs.tail`: a bounded ring that a `tracing`
//! layer writes into, and a live feed for followers (sent only while one listens).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::protocol::LogLineView;
use crate::runtime::lock;

/// The most lines a [`LogBuffer`] keeps.
pub const MAX_LOG_LINES: usize = 65_536;

/// The process's last log lines, served by `logs.tail` on the control socket. Add its
/// [`layer`](Self::layer) to the host's `tracing` subscriber and give it to the server in
/// [`IpcSettings::logs`](super::IpcSettings::logs).
///
/// ```
/// use supervisor::ipc::LogBuffer;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let logs = LogBuffer::new(1_000);
/// let subscriber = tracing_subscriber::registry().with(logs.layer());
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::warn!(venue = "binance", "feed reconnecting");
/// });
/// let lines = logs.tail(10);
/// assert_eq!(lines[0].level, "WARN");
/// assert_eq!(lines[0].message, "feed reconnecting venue=binance");
/// ```
#[derive(Clone)]
pub struct LogBuffer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LogBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ring = lock(&self.shared.ring);
        f.debug_struct("LogBuffer")
            .field("capacity", &ring.capacity)
            .field("lines", &ring.lines.len())
            .finish()
    }
}

struct Shared {
    ring: Mutex<Ring>,
    live: broadcast::Sender<LogLineView>,
}

struct Ring {
    capacity: usize,
    lines: VecDeque<LogLineView>,
    next_seq: u64,
}

impl LogBuffer {
    /// A buffer of the last `capacity` lines (at least 1, at most [`MAX_LOG_LINES`]).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_LOG_LINES);
        LogBuffer {
            shared: Arc::new(Shared {
                ring: Mutex::new(Ring {
                    capacity,
                    lines: VecDeque::with_capacity(capacity.min(1_024)),
                    next_seq: 1,
                }),
                live: broadcast::channel(1_024).0,
            }),
        }
    }

    /// The layer that writes every event of the subscriber it is added to into this buffer.
    pub fn layer(&self) -> LogLayer {
        LogLayer {
            buffer: self.clone(),
        }
    }

    /// The last `lines` lines, oldest first.
    pub fn tail(&self, lines: usize) -> Vec<LogLineView> {
        let ring = lock(&self.shared.ring);
        let skip = ring.lines.len().saturating_sub(lines);
        ring.lines.iter().skip(skip).cloned().collect()
    }

    /// The last `lines` lines and the live ones after them, with nothing lost or repeated
    /// between the two.
    pub(crate) fn follow(
        &self,
        lines: usize,
    ) -> (Vec<LogLineView>, broadcast::Receiver<LogLineView>) {
        let ring = lock(&self.shared.ring);
        let live = self.shared.live.subscribe();
        let skip = ring.lines.len().saturating_sub(lines);
        (ring.lines.iter().skip(skip).cloned().collect(), live)
    }

    fn push(&self, level: &str, target: &str, message: String) {
        let mut ring = lock(&self.shared.ring);
        let line = LogLineView {
            seq: ring.next_seq,
            wall_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            level: level.to_owned(),
            target: target.to_owned(),
            message,
        };
        ring.next_seq += 1;
        if ring.lines.len() >= ring.capacity {
            ring.lines.pop_front();
        }
        if self.shared.live.receiver_count() > 0 {
            // A follower that lags misses lines; the ring is not held back for it.
            let _ = self.shared.live.send(line.clone());
        }
        ring.lines.push_back(line);
    }
}

/// Writes events into a [`LogBuffer`] (see [`LogBuffer::layer`]).
pub struct LogLayer {
    buffer: LogBuffer,
}

impl<S: Subscriber> Layer<S> for LogLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut text = Fields::default();
        event.record(&mut text);
        let metadata = event.metadata();
        self.buffer
            .push(metadata.level().as_str(), metadata.target(), text.finish());
    }
}

/// An event's message, then its other fields as `name=value`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Fields {
    fn finish(self) -> String {
        match (self.message.is_empty(), self.rest.is_empty()) {
            (_, true) => self.message,
            (true, false) => self.rest,
            (false, false) => format!("{} {}", self.message, self.rest),
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.record_debug(field, &format_args!("{value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
            return;
        }
        if !self.rest.is_empty() {
            self.rest.push(' ');
        }
        let _ = write!(self.rest, "{}={value:?}", field.name());
    }
}
