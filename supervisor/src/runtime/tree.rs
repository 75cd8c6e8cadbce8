//! What the nodes of one tree share, and how they talk to each other and to handles.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{broadcast, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::command::CommandRequest;
use super::record::ChildRecord;
use super::snapshot::ServiceLifecycleSnapshot;
use super::tree_state::{ChildState, IntensityUse};
use crate::model::MAX_EVENT_CAPACITY;
use crate::observe::{EventKind, Journal, LifecycleEvent, SupervisorMetrics};
use crate::spec::ChildSpec;

/// State shared by every node of a tree and its handles.
pub(crate) struct TreeShared {
    pub(crate) metrics: SupervisorMetrics,
    pub(crate) events: broadcast::Sender<LifecycleEvent>,
    /// The last events; its lock also orders sequence numbers, the broadcast and
    /// subscriptions, so that a replay and the live events that follow it meet exactly.
    journal: Mutex<Journal>,
    journal_capacity: usize,
    /// The next event's sequence number (written under the journal's lock).
    next_seq: AtomicU64,
    /// Whether a subscriber may be there: set by each subscription, cleared by an emit that
    /// finds none, so that a tree nobody subscribes to never takes the broadcast's lock.
    listening: AtomicBool,
    /// The last id handed out, for commands and correlations alike.
    ids: AtomicU64,
    pub(crate) epoch: Instant,
    /// The wall-clock time at `epoch`: an event's wall time is this plus its monotonic time
    /// (one clock read per event, and wall times that never go backwards).
    epoch_wall: SystemTime,
    /// Cancelled on a second shutdown signal: every node aborts what is still stopping (each
    /// nested node's abort token is a child of its parent's, and the root's is this one).
    pub(crate) abort_now: CancellationToken,
    /// Set when the root begins to shut down: the tree is ending, not a subtree restarting,
    /// so consumers drain their mailboxes before they stop.
    pub(crate) ending: AtomicBool,
    /// Where a test kit's faults for async children wait (feature `testing`).
    #[cfg(feature = "testing")]
    pub(crate) faults: Option<Arc<crate::testing::FaultBoard>>,
}

/// What an event says about its child, besides its kind.
pub(crate) struct EventSource {
    pub(crate) path: Arc<str>,
    pub(crate) generation: u64,
    pub(crate) attempt: u32,
    pub(crate) correlation: Option<u64>,
}

impl crate::mailbox::MailboxEvents for TreeShared {
    fn emit_for(
        &self,
        path: &Arc<str>,
        consumer: crate::mailbox::ConsumerAttempt,
        kind: EventKind,
    ) {
        if self.recording() {
            let source = EventSource {
                path: Arc::clone(path),
                generation: consumer.generation,
                attempt: consumer.attempt,
                correlation: None,
            };
            self.emit(source, kind);
        }
    }
}

impl TreeShared {
    pub(crate) fn new(config: &crate::SupervisorConfig) -> Self {
        let (event_capacity, journal_capacity) =
            (config.event_capacity(), config.journal_capacity());
        TreeShared {
            metrics: SupervisorMetrics::new(config.child_metrics()),
            // Validated by both front doors; clamped again so that no value can panic here.
            events: broadcast::channel(event_capacity.clamp(1, MAX_EVENT_CAPACITY)).0,
            journal: Mutex::new(Journal::new(journal_capacity.min(MAX_EVENT_CAPACITY))),
            journal_capacity: journal_capacity.min(MAX_EVENT_CAPACITY),
            next_seq: AtomicU64::new(1),
            listening: AtomicBool::new(false),
            ids: AtomicU64::new(0),
            epoch: Instant::now(),
            epoch_wall: SystemTime::now(),
            abort_now: CancellationToken::new(),
            ending: AtomicBool::new(false),
            #[cfg(feature = "testing")]
            faults: config.faults(),
        }
    }

    /// Lists a mailbox in the tree's (once: declared ones from the start, added ones from
    /// their consumer's first attempt), and lets it report its consumer's events.
    pub(crate) fn register_mailbox(
        self: &Arc<Self>,
        mailbox: &Arc<dyn crate::mailbox::MailboxControl>,
    ) {
        if self.metrics.register_mailbox(mailbox) {
            let events: Arc<dyn crate::mailbox::MailboxEvents> = Arc::clone(self) as _;
            mailbox.observe(Arc::downgrade(&events));
        }
    }

    /// The tree has ended: every mailbox is closed (senders still waiting are refused), and
    /// its counts, by name, are final.
    pub(crate) async fn close_mailboxes(&self) -> Vec<crate::mailbox::MailboxStats> {
        let mailboxes = self.metrics.mailboxes();
        for mailbox in &mailboxes {
            mailbox.finish().await;
        }
        let mut stats: Vec<_> = mailboxes.iter().map(|m| m.stats()).collect();
        stats.sort_by(|a, b| a.name.cmp(&b.name));
        stats
    }

    /// A fresh id for a command or a correlation, from 1.
    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Whether an event would reach anyone (a subscriber, or the journal): if not, nothing is
    /// built.
    pub(crate) fn recording(&self) -> bool {
        self.journal_capacity > 0 || self.has_subscribers()
    }

    /// Whether anyone subscribes now (the broadcast's lock only after a subscription).
    fn has_subscribers(&self) -> bool {
        if !self.listening.load(Ordering::Acquire) {
            return false;
        }
        let any = self.events.receiver_count() > 0;
        if !any {
            // Under the journal's lock, so that a subscription in between is not undone.
            let _journal = lock(&self.journal);
            if self.events.receiver_count() == 0 {
                self.listening.store(false, Ordering::Release);
            }
        }
        any
    }

    /// The wall-clock time at the tree's start.
    #[cfg(feature = "ipc")]
    pub(crate) fn epoch_wall(&self) -> SystemTime {
        self.epoch_wall
    }

    /// Records an event in the journal and sends it to subscribers. Building it allocates
    /// nothing for most kinds (the path is shared); with no subscriber it is not cloned.
    pub(crate) fn emit(&self, source: EventSource, kind: EventKind) {
        let at = Instant::now().saturating_duration_since(self.epoch);
        let mut journal = lock(&self.journal);
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let event = LifecycleEvent {
            seq,
            at,
            wall: self.epoch_wall + at,
            path: source.path,
            generation: source.generation,
            attempt: source.attempt,
            correlation: source.correlation,
            kind,
        };
        if self.listening.load(Ordering::Acquire) {
            match self.events.receiver_count() {
                0 => self.listening.store(false, Ordering::Release),
                // Fails only when the last receiver left since the check; then nobody
                // misses it.
                _ => drop(self.events.send(event.clone())),
            }
        }
        journal.record(event);
    }

    /// Live events from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<LifecycleEvent> {
        let _journal = lock(&self.journal);
        self.listening.store(true, Ordering::Release);
        self.events.subscribe()
    }

    /// A copy of the journal, oldest first.
    pub(crate) fn journal(&self) -> Vec<LifecycleEvent> {
        lock(&self.journal).since(1, 0).1.into()
    }

    /// The journal's events from `from` on, how many of those it forgot, and the live ones
    /// after them.
    pub(crate) fn subscribe_from(
        &self,
        from: u64,
    ) -> (
        u64,
        VecDeque<LifecycleEvent>,
        broadcast::Receiver<LifecycleEvent>,
    ) {
        let journal = lock(&self.journal);
        let (missed, replay) = journal.since(from, self.next_seq.load(Ordering::Relaxed));
        self.listening.store(true, Ordering::Release);
        (missed, replay, self.events.subscribe())
    }
}

/// A node's children's indices by name, for commands and duplicate checks. Only the node
/// writes it, except the root's front door, which reserves a name (index `usize::MAX`) for a
/// `spawn_service` still on its way to the loop.
pub(crate) type Names = Arc<Mutex<HashMap<Arc<str>, usize>>>;

/// What handles, contexts and parents send to a node's control loop.
/// A node's answer to a state query: its restart intensity in use and each child, with the
/// link to ask next for a running nested supervisor.
pub(crate) struct NodeAnswer {
    pub(crate) intensity: Option<IntensityUse>,
    pub(crate) children: Vec<ChildState>,
    /// The nested supervisors among `children` that run now: their position there, and the
    /// link to ask them for their own children.
    pub(crate) running: Vec<(usize, Arc<NestedLink>)>,
}

pub(crate) enum NodeMessage {
    Spawn(ChildSpec),
    Ready {
        index: usize,
        attempt: u32,
        /// The child's shared state: the slot may have been released and reused since.
        child: Arc<crate::context::ChildShared>,
    },
    Snapshots(oneshot::Sender<Vec<ServiceLifecycleSnapshot>>),
    /// Answered as soon as the loop reads it: everything before it has been handled (the
    /// first start pass, say).
    Sync(oneshot::Sender<()>),
    State(oneshot::Sender<NodeAnswer>),
    Shutdown(ShutdownCause),
    /// An operator command for a child of this node, or of a node below it.
    Command(Box<CommandRequest>),
    /// An attempt of one of its children ended (or was dropped unfinished).
    Exit(crate::runtime::attempt::AttemptExit),
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
