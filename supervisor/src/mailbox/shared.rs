//! What a mailbox's handles share: the channel, the receiver's slot between attempts, and
//! whether it takes messages.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, mpsc};

use super::error::CloseReason;
use super::stats::MailboxStats;
use crate::model::TerminationReason;

/// It takes messages.
const OPEN: u8 = 0;
/// Its consumer terminated for good: sends fail until it starts again.
const ORPHANED: u8 = 1;
/// The tree is shutting down: sends fail, the consumer receives what is left, then `None`.
const CLOSED: u8 = 2;

pub(crate) struct Shared<T> {
    pub(crate) name: Arc<str>,
    pub(crate) capacity: usize,
    pub(crate) sender: mpsc::Sender<T>,
    /// The receiver while no attempt holds it.
    slot: Mutex<Option<mpsc::Receiver<T>>>,
    state: AtomicU8,
    /// Why it is orphaned or closed (set before `state` changes).
    reason: Mutex<Option<CloseReason>>,
    /// Wakes senders waiting for room, and a consumer waiting for a message, when `state`
    /// changes.
    pub(crate) changed: Notify,
    /// Received by an attempt (published by its inbox; see `Inbox`).
    delivered: AtomicU64,
    /// Taken out unreceived: the consumer had terminated for good.
    dead_lettered: AtomicU64,
    /// Never received: left when the tree ended.
    undelivered: AtomicU64,
}

fn lock<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Shared<T> {
    pub(crate) fn new(name: Arc<str>, capacity: usize) -> Arc<Self> {
        let (sender, receiver) = mpsc::channel(capacity);
        Arc::new(Shared {
            name,
            capacity,
            sender,
            slot: Mutex::new(Some(receiver)),
            state: AtomicU8::new(OPEN),
            reason: Mutex::new(None),
            changed: Notify::new(),
            delivered: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            undelivered: AtomicU64::new(0),
        })
    }

    /// Why it takes no messages now, if it does not.
    pub(crate) fn refusal(&self) -> Option<CloseReason> {
        if self.state.load(Ordering::Acquire) == OPEN {
            return None;
        }
        // Set before the state: present. A revival in between leaves it `None`, as it should.
        lock(&self.reason).clone()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) == CLOSED
    }

    /// Room taken now: queued messages, and senders handed room they have not used yet.
    pub(crate) fn len(&self) -> usize {
        self.capacity.saturating_sub(self.sender.capacity())
    }

    /// Takes the receiver for an attempt, or `None` if another attempt holds it.
    pub(crate) fn take_receiver(&self) -> Option<mpsc::Receiver<T>> {
        lock(&self.slot).take()
    }

    /// Gives the receiver back, with the count of messages its attempt received.
    pub(crate) fn return_receiver(&self, receiver: mpsc::Receiver<T>, delivered: u64) {
        self.publish_delivered(delivered);
        *lock(&self.slot) = Some(receiver);
    }

    pub(crate) fn publish_delivered(&self, delivered: u64) {
        if delivered > 0 {
            self.delivered.fetch_add(delivered, Ordering::Relaxed);
        }
    }

    /// Its consumer terminated for good: sends fail with `reason` from now on, and what is
    /// queued is dead-lettered. Returns how many messages that was.
    pub(crate) fn orphan(&self, reason: TerminationReason) -> u64 {
        self.change(ORPHANED, CloseReason::ConsumerTerminated(reason));
        self.dead_letter_queued()
    }

    /// Its consumer starts again: what reached it while orphaned is dead-lettered (it is not
    /// delivered late), then it takes messages again. Returns how many were dead-lettered.
    pub(crate) fn revive(&self) -> u64 {
        if self.state.load(Ordering::Acquire) != ORPHANED {
            return 0;
        }
        // Changes of state are made under the reason's lock, so that a close cannot come
        // between the check and the reopening.
        let mut reason = lock(&self.reason);
        if self.state.load(Ordering::Acquire) != ORPHANED {
            return 0;
        }
        let dead = self.dead_letter_queued();
        *reason = None;
        self.state.store(OPEN, Ordering::Release);
        dead
    }

    /// The tree shuts down: sends fail from now on; the consumer receives what is queued,
    /// then `None`.
    pub(crate) fn close(&self) {
        self.change(CLOSED, CloseReason::Shutdown);
    }

    /// A close is for good: nothing changes a closed mailbox again.
    fn change(&self, state: u8, reason: CloseReason) {
        {
            let mut current = lock(&self.reason);
            if self.state.load(Ordering::Acquire) == CLOSED {
                return;
            }
            *current = Some(reason);
            self.state.store(state, Ordering::Release);
        }
        self.changed.notify_waiters();
    }

    /// Drops every queued message unreceived, if the receiver is in its slot (no attempt
    /// holds it: the consumer is not running).
    fn dead_letter_queued(&self) -> u64 {
        let mut slot = lock(&self.slot);
        let Some(receiver) = slot.as_mut() else {
            return 0;
        };
        let mut dead = 0;
        while let Ok(message) = receiver.try_recv() {
            drop(message);
            dead += 1;
        }
        self.dead_lettered.fetch_add(dead, Ordering::Relaxed);
        dead
    }

    /// The tree has ended, every attempt too: closes the channel and takes out what is left,
    /// unreceived, counting it. Exact: Tokio's channel ends only after every send that had
    /// room (none waits across an await here).
    pub(crate) async fn finish(&self) {
        self.close();
        let Some(mut receiver) = self.take_receiver() else {
            return;
        };
        receiver.close();
        let mut left = 0;
        while let Some(message) = receiver.recv().await {
            drop(message);
            left += 1;
        }
        self.undelivered.fetch_add(left, Ordering::Relaxed);
        *lock(&self.slot) = Some(receiver);
    }

    pub(crate) fn stats(&self) -> MailboxStats {
        let delivered = self.delivered.load(Ordering::Relaxed);
        let dead_lettered = self.dead_lettered.load(Ordering::Relaxed);
        let queued = self.len() as u64 + self.undelivered.load(Ordering::Relaxed);
        MailboxStats {
            name: self.name.to_string(),
            capacity: self.capacity,
            queued,
            delivered,
            dead_lettered,
            sent: delivered + dead_lettered + queued,
        }
    }
}
