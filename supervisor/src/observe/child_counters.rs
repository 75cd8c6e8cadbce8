//! One child's counters, written by its supervisor's loop and read lock-free by metrics (and
//! the Prometheus collector) at any time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How an attempt failed, for the per-kind failure counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// It returned an error.
    Error,
    /// It panicked.
    Panic,
    /// It missed its startup or heartbeat deadline.
    Timeout,
}

impl FailureKind {
    /// The label used in metrics: `error`, `panic`, `timeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Error => "error",
            FailureKind::Panic => "panic",
            FailureKind::Timeout => "timeout",
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct ChildCounters {
    restarts: AtomicU64,
    errors: AtomicU64,
    panics: AtomicU64,
    timeouts: AtomicU64,
    breaker_trips: AtomicU64,
    /// Running time of the attempts that have stopped, in nanoseconds.
    ran_nanos: AtomicU64,
    /// When the running attempt began running, in nanoseconds since the tree's epoch, plus
    /// one; 0 when none is running.
    since_nanos: AtomicU64,
}

/// A snapshot of one child's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildStats {
    /// Attempts started after the first.
    pub restarts: u64,
    /// Attempts that returned an error.
    pub errors: u64,
    /// Attempts that panicked.
    pub panics: u64,
    /// Attempts that missed a deadline.
    pub timeouts: u64,
    /// Times its circuit breaker opened.
    pub breaker_trips: u64,
    /// Time spent running (ready), all attempts together.
    pub uptime: Duration,
}

impl ChildStats {
    /// Failures of every kind.
    pub fn failures(&self) -> u64 {
        self.errors
            .saturating_add(self.panics)
            .saturating_add(self.timeouts)
    }

    /// Failures of one kind.
    pub fn failures_of(&self, kind: FailureKind) -> u64 {
        match kind {
            FailureKind::Error => self.errors,
            FailureKind::Panic => self.panics,
            FailureKind::Timeout => self.timeouts,
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl ChildCounters {
    pub(crate) fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self, kind: FailureKind) {
        let counter = match kind {
            FailureKind::Error => &self.errors,
            FailureKind::Panic => &self.panics,
            FailureKind::Timeout => &self.timeouts,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Failures of every kind so far.
    pub(crate) fn failures(&self) -> u64 {
        [&self.errors, &self.panics, &self.timeouts]
            .iter()
            .fold(0, |sum, c| sum.saturating_add(c.load(Ordering::Relaxed)))
    }

    pub(crate) fn breaker_tripped(&self) {
        self.breaker_trips.fetch_add(1, Ordering::Relaxed);
    }

    /// The attempt runs from `at` (time since the epoch).
    pub(crate) fn start_running(&self, at: Duration) {
        self.since_nanos
            .store(nanos(at).saturating_add(1), Ordering::Relaxed);
    }

    /// The running attempt stopped running at `at`.
    pub(crate) fn stop_running(&self, at: Duration) {
        let since = self.since_nanos.swap(0, Ordering::Relaxed);
        if since > 0 {
            let ran = nanos(at).saturating_sub(since - 1);
            let total = self.ran_nanos.load(Ordering::Relaxed).saturating_add(ran);
            self.ran_nanos.store(total, Ordering::Relaxed);
        }
    }

    /// Since when (time since the epoch) the current attempt runs, if one does.
    pub(crate) fn running_since(&self) -> Option<Duration> {
        match self.since_nanos.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n - 1)),
        }
    }

    /// The counters, with the time running up to `now` (time since the epoch).
    pub(crate) fn stats(&self, now: Duration) -> ChildStats {
        let running = self
            .running_since()
            .map_or(0, |since| nanos(now).saturating_sub(nanos(since)));
        ChildStats {
            restarts: self.restarts.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            panics: self.panics.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            breaker_trips: self.breaker_trips.load(Ordering::Relaxed),
            uptime: Duration::from_nanos(
                self.ran_nanos
                    .load(Ordering::Relaxed)
                    .saturating_add(running),
            ),
        }
    }
}
