//! Restart latency marks, shared by the benches: when each attempt began and when it was
//! about to fail.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use supervisor::{BackoffConfig, Jitter};

use super::{Figures, quantile, us};

/// Restarts measured after the warm-up (1% more).
pub const RESTARTS: usize = 10_000;
pub const WARMUP: usize = RESTARTS / 100;

/// When each attempt began and when it was about to fail.
#[derive(Clone)]
pub struct Marks(Arc<Mutex<(Vec<Instant>, Vec<Instant>)>>);

impl Default for Marks {
    fn default() -> Self {
        Marks::new()
    }
}

impl Marks {
    pub fn new() -> Self {
        let n = RESTARTS + WARMUP + 1;
        Marks(Arc::new(Mutex::new((
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        ))))
    }

    /// The attempt's first statement: returns how many attempts have begun.
    pub fn first(&self) -> usize {
        let mut marks = self.0.lock().unwrap();
        marks.0.push(Instant::now());
        marks.0.len()
    }

    /// Its last statement before failing.
    pub fn last(&self) {
        self.0.lock().unwrap().1.push(Instant::now());
    }

    /// Each measured restart's latency: from a failing attempt's last mark to the next
    /// attempt's first.
    pub fn gaps(&self) -> Vec<Duration> {
        let marks = self.0.lock().unwrap();
        let (firsts, lasts) = &*marks;
        let gaps: Vec<Duration> = lasts
            .iter()
            .zip(firsts.iter().skip(1))
            .skip(WARMUP)
            .map(|(last, next)| next.saturating_duration_since(*last))
            .collect();
        assert_eq!(gaps.len(), RESTARTS, "every restart measured");
        gaps
    }

    pub fn figures(&self) -> Figures {
        latencies(self.gaps())
    }
}

/// The p50 and p99 of restart latencies.
pub fn latencies(mut gaps: Vec<Duration>) -> Figures {
    BTreeMap::from([
        ("p50_us".to_owned(), us(quantile(&mut gaps, 0.5))),
        ("p99_us".to_owned(), us(quantile(&mut gaps, 0.99))),
    ])
}

/// The attempts there are: the warm-up, the measured restarts, and the one that stays.
pub const ATTEMPTS: usize = RESTARTS + WARMUP + 1;

/// Restarts at once: zero backoff, no jitter, no circuit breaker.
pub fn immediate() -> BackoffConfig {
    BackoffConfig::new(Duration::ZERO, Duration::from_nanos(1))
        .with_jitter(Jitter::None)
        .without_circuit_breaker()
}
