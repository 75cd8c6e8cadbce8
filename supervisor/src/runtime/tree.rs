//! What the nodes of one tree share, and how they talk to each other and to handles.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{broadcast, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::command::CommandRequest;
use super::record::ChildRecord;
use super::snapshot::ServiceLifecycleSnapshot;
use super::tree_state::ChildState;
use crate::model::MAX_EVENT_CAPACITY;
use crate::observe::{EventKind, LifecycleEvent, SupervisorMetrics};
use crate::spec::ChildSpec;

/// State shared by every node of a tree and its handles.
pub(crate) struct TreeShared {
    pub(crate) metrics: SupervisorMetrics,
    pub(crate) events: broadcast::Sender<LifecycleEvent>,
    seq: AtomicU64,
    /// The last command id handed out.
    commands: AtomicU64,
    pub(crate) epoch: Instant,
    /// Cancelled on a second shutdown signal: every node aborts what is still stopping (each
    /// nested node's abort token is a child of its parent's, and the root's is this one).
    pub(crate) abort_now: CancellationToken,
}

impl TreeShared {
    pub(crate) fn new(event_capacity: usize) -> Self {
        TreeShared {
            metrics: SupervisorMetrics::default(),
            // Validated by both front doors; clamped again so that no value can panic here.
            events: broadcast::channel(event_capacity.clamp(1, MAX_EVENT_CAPACITY)).0,
            seq: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            epoch: Instant::now(),
            abort_now: CancellationToken::new(),
        }
    }

    /// A fresh command id, from 1.
    pub(crate) fn next_command_id(&self) -> u64 {
        self.commands.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn listening(&self) -> bool {
        self.events.receiver_count() > 0
    }

    /// Sends an event; call only when [`listening`](Self::listening), so nothing is built for
    /// nobody.
    pub(crate) fn emit(&self, path: Arc<str>, kind: EventKind) {
        let event = LifecycleEvent {
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            at: Instant::now().saturating_duration_since(self.epoch),
            path,
            kind,
        };
        // Fails only when the last receiver left since the check; then nobody misses it.
        let _ = self.events.send(event);
    }
}

/// A node's children's indices by name, for commands and duplicate checks. Only the node
/// writes it, except the root's front door, which reserves a name (index `usize::MAX`) for a
/// `spawn_service` still on its way to the loop.
pub(crate) type Names = Arc<Mutex<HashMap<Arc<str>, usize>>>;

/// What handles, contexts and parents send to a node's control loop.
pub(crate) enum NodeMessage {
    Spawn(Box<ChildSpec>),
    Ready {
        index: usize,
        attempt: u32,
        /// The child's shared state: the slot may have been released and reused since.
        child: Arc<crate::context::ChildShared>,
    },
    Snapshots(oneshot::Sender<Vec<ServiceLifecycleSnapshot>>),
    State(oneshot::Sender<Vec<(ChildState, Option<Arc<NestedLink>>)>>),
    Shutdown(ShutdownCause),
    /// An operator command for a child of this node, or of a node below it.
    Command(Box<CommandRequest>),
    /// Test-only: panic inside the loop of the node at this path.
    #[cfg(feature = "fault-injection")]
    InjectPanic(String),
}

/// Who asked a node to shut down, and why.
pub(crate) struct ShutdownCause {
    pub(crate) requested_by: String,
    pub(crate) reason: String,
}

/// How a parent reaches the node running as one of its supervisor children.
#[derive(Default)]
pub(crate) struct NestedLink {
    /// The running node's inbox, while it runs.
    pub(crate) inbox: Mutex<Option<UnboundedSender<NodeMessage>>>,
    /// What the last run left behind: its children's final states and outcomes.
    pub(crate) last_run: Mutex<Option<Vec<ChildRecord>>>,
    /// The running node's abort token, while it runs.
    pub(crate) abort: Mutex<Option<CancellationToken>>,
}

impl NestedLink {
    pub(crate) fn inbox(&self) -> Option<UnboundedSender<NodeMessage>> {
        lock(&self.inbox).clone()
    }
}

/// Locks, recovering from a poisoned lock: every critical section here is a plain assignment.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
