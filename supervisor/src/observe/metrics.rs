use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{ChildStats, CompactDuration};
use crate::context::ChildShared;
use crate::runtime::lock;
use crate::slab::Slab;

/// Live counters of a supervisor. Cheap to clone; reading is lock-free.
///
/// ```
/// use supervisor::{Supervisor, SupervisorConfig};
///
/// let supervisor = Supervisor::new(SupervisorConfig::default().without_signal_handler());
/// let snapshot = supervisor.metrics().snapshot();
/// assert_eq!(snapshot.active_services, 0);
/// assert_eq!(snapshot.restarts_total, 0);
/// ```
#[derive(Debug, Clone)]
pub struct SupervisorMetrics {
    inner: Arc<Counters>,
}

impl Default for SupervisorMetrics {
    /// Totals and every child listed.
    fn default() -> Self {
        SupervisorMetrics::new(true)
    }
}

/// The children there are, each in an entry of its own (8 bytes per child), ordered by
/// generation only when read.
type Registry = Slab<Arc<ChildShared>>;

struct Counters {
    restarts_total: AtomicU64,
    active_services: AtomicU64,
    spawned_total: AtomicU64,
    terminated_total: AtomicU64,
    circuit_breaker_trips: AtomicU64,
    /// Every child there is now by generation (so in creation order), with its path; `None`
    /// when the children are not listed.
    children: Option<Mutex<Registry>>,
    /// Every mailbox consumed in the tree (listed as the tree lists them).
    mailboxes: Mutex<Vec<Arc<dyn crate::mailbox::MailboxControl>>>,
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counters").finish_non_exhaustive()
    }
}

/// The counters of a [`SupervisorMetrics`] at one instant. Its `Display` is a short report,
/// one line for the tree and one per child.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsSnapshot {
    /// Attempts started after the first one, over all services.
    pub restarts_total: u64,
    /// Services added and not yet terminated.
    pub active_services: u64,
    /// Attempts started, first ones included.
    pub spawned_total: u64,
    /// Services that reached the terminated phase.
    pub terminated_total: u64,
    /// Circuit breakers that opened.
    pub circuit_breaker_trips: u64,
    /// Each child there is now (nested ones included, in the order they were created), with
    /// its counters; every child's counters exist, at zero, from its start.
    pub children: Vec<ChildMetrics>,
    /// Each mailbox consumed in the tree (declared ones from the start, added ones from
    /// their consumer's first attempt), with its length and counts.
    pub mailboxes: Vec<crate::mailbox::MailboxStats>,
}

/// One child's counters in a [`MetricsSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildMetrics {
    /// Its path from the root.
    pub path: String,
    /// Its counters.
    pub stats: ChildStats,
}

impl fmt::Display for MetricsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} active, {} attempts ({} restarts), {} terminated, {} breaker trips",
            self.active_services,
            self.spawned_total,
            self.restarts_total,
            self.terminated_total,
            self.circuit_breaker_trips
        )?;
        for child in &self.children {
            let s = &child.stats;
            writeln!(
                f,
                "  {}: {} restarts, failures {} (error {}, panic {}, timeout {}), {} breaker trips, up {}",
                child.path,
                s.restarts,
                s.failures(),
                s.errors,
                s.panics,
                s.timeouts,
                s.breaker_trips,
                CompactDuration(s.uptime)
            )?;
        }
        for mailbox in &self.mailboxes {
            writeln!(f, "  mailbox {mailbox}")?;
        }
        Ok(())
    }
}

impl SupervisorMetrics {
    /// Totals, and each child's counters if `list_children`.
    pub(crate) fn new(list_children: bool) -> Self {
        SupervisorMetrics {
            inner: Arc::new(Counters {
                restarts_total: AtomicU64::new(0),
                active_services: AtomicU64::new(0),
                spawned_total: AtomicU64::new(0),
                terminated_total: AtomicU64::new(0),
                circuit_breaker_trips: AtomicU64::new(0),
                children: list_children.then(Mutex::default),
                mailboxes: Mutex::default(),
            }),
        }
    }

    /// The current values. Each counter is read atomically; the set is not one transaction.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let c = &self.inner;
        MetricsSnapshot {
            restarts_total: c.restarts_total.load(Ordering::Relaxed),
            active_services: c.active_services.load(Ordering::Relaxed),
            spawned_total: c.spawned_total.load(Ordering::Relaxed),
            terminated_total: c.terminated_total.load(Ordering::Relaxed),
            circuit_breaker_trips: c.circuit_breaker_trips.load(Ordering::Relaxed),
            children: self.children(),
            mailboxes: lock(&c.mailboxes).iter().map(|m| m.stats()).collect(),
        }
    }

    /// Lists a mailbox of the tree, once: whether it was new. The tree's one list of them
    /// (its shutdown closes and counts these).
    pub(crate) fn register_mailbox(
        &self,
        mailbox: &Arc<dyn crate::mailbox::MailboxControl>,
    ) -> bool {
        let mut mailboxes = lock(&self.inner.mailboxes);
        let new = !mailboxes.iter().any(|known| Arc::ptr_eq(known, mailbox));
        if new {
            mailboxes.push(Arc::clone(mailbox));
        }
        new
    }

    /// Every mailbox of the tree, in the order they were listed.
    pub(crate) fn mailboxes(&self) -> Vec<Arc<dyn crate::mailbox::MailboxControl>> {
        lock(&self.inner.mailboxes).clone()
    }

    /// Each child's counters now.
    pub(crate) fn children(&self) -> Vec<ChildMetrics> {
        let now = tokio::time::Instant::now();
        let Some(registry) = &self.inner.children else {
            return Vec::new();
        };
        let mut children: Vec<Arc<ChildShared>> = lock(registry).iter().cloned().collect();
        children.sort_by_key(|shared| shared.generation);
        children
            .iter()
            .map(|shared| ChildMetrics {
                path: shared.path.to_string(),
                stats: shared.stats(now),
            })
            .collect()
    }

    /// Lists a child; the key takes it off again (`usize::MAX`, a key of nothing, when the
    /// children are not listed).
    pub(crate) fn register(&self, shared: Arc<ChildShared>) -> usize {
        match &self.inner.children {
            Some(registry) => lock(registry).insert(shared),
            None => usize::MAX,
        }
    }

    pub(crate) fn deregister(&self, key: usize) {
        if let Some(registry) = &self.inner.children {
            lock(registry).remove(key);
        }
    }

    pub(crate) fn service_added(&self) {
        self.inner.active_services.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn attempt_spawned(&self, is_restart: bool) {
        self.inner.spawned_total.fetch_add(1, Ordering::Relaxed);
        if is_restart {
            self.inner.restarts_total.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A service entered `Terminated` (it may leave it again, revived by a command).
    pub(crate) fn service_left(&self) {
        self.inner.active_services.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn service_terminated(&self, breaker_opened: bool) {
        self.inner.terminated_total.fetch_add(1, Ordering::Relaxed);
        if breaker_opened {
            self.inner
                .circuit_breaker_trips
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}
