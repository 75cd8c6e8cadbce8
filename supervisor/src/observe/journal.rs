//! The journal: the tree's last events, replayed to subscribers that come late, then followed
//! live. Emitting takes one short lock; a subscriber never slows the tree (a lagging one is
//! told how many events it lost).

use std::collections::VecDeque;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_util::sync::CancellationToken;

use super::LifecycleEvent;

/// The last events, oldest first; `capacity` of them at most (allocated up front).
pub(crate) struct Journal {
    entries: VecDeque<LifecycleEvent>,
    capacity: usize,
}

impl Journal {
    pub(crate) fn new(capacity: usize) -> Self {
        Journal {
            entries: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Keeps `event`, forgetting the oldest one if full.
    pub(crate) fn record(&mut self, event: LifecycleEvent) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(event);
    }

    /// The kept events from sequence number `from` on, and how many before them (at or after
    /// `from`) were forgotten already.
    pub(crate) fn since(&self, from: u64, next_seq: u64) -> (u64, VecDeque<LifecycleEvent>) {
        let oldest = self.entries.front().map_or(next_seq, |e| e.seq);
        let missed = oldest.saturating_sub(from.max(1));
        let kept = self
            .entries
            .iter()
            .filter(|e| e.seq >= from)
            .cloned()
            .collect();
        (missed, kept)
    }
}

/// Events that were lost to a subscriber: forgotten by the journal before it asked for them,
/// or sent while it lagged more than the event buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missed(pub u64);

impl std::fmt::Display for Missed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} events were missed", self.0)
    }
}

impl std::error::Error for Missed {}

/// The tree's events from a sequence number on: first those the journal still holds, then
/// live ones, until the tree has ended. From
/// [`SupervisorHandle::subscribe_from`](crate::SupervisorHandle::subscribe_from).
#[derive(Debug)]
pub struct EventStream {
    missed: u64,
    replay: VecDeque<LifecycleEvent>,
    live: broadcast::Receiver<LifecycleEvent>,
    ended: CancellationToken,
}

impl EventStream {
    pub(crate) fn new(
        missed: u64,
        replay: VecDeque<LifecycleEvent>,
        live: broadcast::Receiver<LifecycleEvent>,
        ended: CancellationToken,
    ) -> Self {
        EventStream {
            missed,
            replay,
            live,
            ended,
        }
    }

    /// The next event; `Err(Missed(n))` where `n` events were lost; `None` once the tree has
    /// ended and every event before its end was delivered.
    pub async fn next(&mut self) -> Option<Result<LifecycleEvent, Missed>> {
        if self.missed > 0 {
            return Some(Err(Missed(std::mem::take(&mut self.missed))));
        }
        if let Some(event) = self.replay.pop_front() {
            return Some(Ok(event));
        }
        loop {
            match self.live.try_recv() {
                Ok(event) => return Some(Ok(event)),
                Err(TryRecvError::Lagged(n)) => return Some(Err(Missed(n))),
                Err(TryRecvError::Closed) => return None,
                Err(TryRecvError::Empty) if self.ended.is_cancelled() => return None,
                Err(TryRecvError::Empty) => {}
            }
            tokio::select! {
                received = self.live.recv() => match received {
                    Ok(event) => return Some(Ok(event)),
                    Err(RecvError::Lagged(n)) => return Some(Err(Missed(n))),
                    Err(RecvError::Closed) => return None,
                },
                // Ended: deliver what is still buffered, then stop.
                _ = self.ended.cancelled() => {}
            }
        }
    }
}
