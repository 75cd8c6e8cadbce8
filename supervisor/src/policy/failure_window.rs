use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Counts events within a sliding time window, remembering only the last `limit` of them, so
/// recording is O(1) however long a crash loop runs.
///
/// An event at `t` counts at `now` while `now - t < window`.
///
/// ```
/// use std::time::{Duration, Instant};
/// use supervisor::policy::FailureWindow;
///
/// let t0 = Instant::now();
/// let mut window = FailureWindow::new(3, Duration::from_secs(10));
/// assert_eq!(window.record(t0), 1);
/// assert_eq!(window.record(t0 + Duration::from_secs(1)), 2);
/// assert!(!window.is_full());
/// assert_eq!(window.record(t0 + Duration::from_secs(2)), 3);
/// assert!(window.is_full());
/// // Ten seconds after the first one, it no longer counts.
/// assert_eq!(window.record(t0 + Duration::from_secs(10)), 3);
/// assert_eq!(window.record(t0 + Duration::from_secs(30)), 1);
/// ```
#[derive(Debug, Clone)]
pub struct FailureWindow {
    limit: usize,
    window: Duration,
    // Oldest first; allocated on the first event, never longer than `limit`.
    stamps: VecDeque<Instant>,
}

impl FailureWindow {
    /// A window of length `window` that is full at `limit` events.
    pub fn new(limit: u32, window: Duration) -> Self {
        FailureWindow {
            limit: limit.max(1) as usize,
            window,
            stamps: VecDeque::new(),
        }
    }

    /// Records an event at `now` and returns how many events (this one included, at most
    /// `limit`) fall in the window ending at `now`.
    pub fn record(&mut self, now: Instant) -> u32 {
        if self.stamps.len() == self.limit {
            self.stamps.pop_front();
        }
        self.stamps.push_back(now);
        self.expire(now);
        self.stamps.len() as u32
    }

    /// The number of events that fills the window.
    pub fn limit(&self) -> u32 {
        self.limit as u32
    }

    /// Whether the last `limit` events all fall in the window ending at the latest one.
    pub fn is_full(&self) -> bool {
        self.stamps.len() == self.limit
    }

    /// How many of the remembered events fall in the window ending at `now`.
    pub fn count_at(&self, now: Instant) -> u32 {
        self.stamps
            .iter()
            .filter(|&&t| now.saturating_duration_since(t) < self.window)
            .count() as u32
    }

    /// Forgets every event.
    pub fn clear(&mut self) {
        self.stamps.clear();
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&oldest) = self.stamps.front() {
            if now.saturating_duration_since(oldest) < self.window {
                break;
            }
            self.stamps.pop_front();
        }
    }
}
