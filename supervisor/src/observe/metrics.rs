use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
#[derive(Debug, Clone, Default)]
pub struct SupervisorMetrics {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    restarts_total: AtomicU64,
    active_services: AtomicU64,
    spawned_total: AtomicU64,
    terminated_total: AtomicU64,
    circuit_breaker_trips: AtomicU64,
}

/// The counters of a [`SupervisorMetrics`] at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
}

impl SupervisorMetrics {
    /// The current values. Each counter is read atomically; the set is not one transaction.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let c = &self.inner;
        MetricsSnapshot {
            restarts_total: c.restarts_total.load(Ordering::Relaxed),
            active_services: c.active_services.load(Ordering::Relaxed),
            spawned_total: c.spawned_total.load(Ordering::Relaxed),
            terminated_total: c.terminated_total.load(Ordering::Relaxed),
            circuit_breaker_trips: c.circuit_breaker_trips.load(Ordering::Relaxed),
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

    pub(crate) fn service_terminated(&self, breaker_opened: bool) {
        self.inner.active_services.fetch_sub(1, Ordering::Relaxed);
        self.inner.terminated_total.fetch_add(1, Ordering::Relaxed);
        if breaker_opened {
            self.inner
                .circuit_breaker_trips
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}
