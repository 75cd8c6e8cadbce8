//! What a mailbox's handles share: the channel, the receiver's slot between attempts, and
//! whether it takes messages.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::Waker;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::dead_letter::{DeadLetter, DeadLetterReason};
use super::error::CloseReason;
use super::stats::MailboxStats;
use super::undelivered::Undelivered;
use super::{ConsumerAttempt, MailboxEvents, MailboxRef};
use crate::context::ChildShared;
use crate::model::TerminationReason;
use crate::observe::EventKind;

/// It takes messages.
const OPEN: u8 = 0;
/// Its consumer terminated for good: sends fail until it starts again.
const ORPHANED: u8 = 1;
/// The tree is shutting down: sends fail, the consumer receives what is left, then `None`.
const CLOSED: u8 = 2;

/// How many first deliveries an inbox counts before it adds its counts to the mailbox's
/// stats (it also does whenever it waits and when its attempt ends): one shared write per
/// batch, not per message. Only first deliveries are compared (the cheapest check): the rest
/// follow failures and nacks, and a failure ends its attempt, which publishes them.
const PUBLISH_EVERY: u64 = 32;

/// Hands a dead letter to another mailbox without waiting; the error says why it could not.
/// Boxed: a mailbox holding the sender of a mailbox of its own dead letters would be a type
/// without end.
pub(crate) type DeadLetterSink<T> = Box<dyn Fn(DeadLetter<T>) -> Result<(), String> + Send + Sync>;

/// What an attempt borrows: the channel's receiver, and the message given back
/// unacknowledged (at least once), which comes first. One at most: a delivery borrows the
/// inbox, so a message is given back before the next one can be received.
pub(crate) struct Held<T> {
    pub(crate) receiver: mpsc::Receiver<T>,
    /// Boxed: an idle mailbox holds no room for a message it may never give back (one
    /// allocation per message given back, a failure's cost).
    pub(crate) given_back: Option<Box<Requeued<T>>>,
}

/// A message given back unacknowledged, to be delivered again.
pub(crate) struct Requeued<T> {
    pub(crate) message: T,
    /// Deliveries so far (at least 1).
    pub(crate) deliveries: u32,
    /// How its last delivery ended, once known: `nack`, or the failure of the attempt that
    /// dropped it (set when that attempt's exit is handled).
    pub(crate) ending: Option<Arc<str>>,
}

/// Counts an attempt keeps and adds to the shared ones in batches.
#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) delivered: u64,
    pub(crate) redelivered: u64,
    pub(crate) acked: u64,
    pub(crate) rejected: u64,
    /// Dead-lettered after at least one delivery.
    pub(crate) spent: u64,
}

/// What only an at-least-once mailbox keeps.
struct AckState {
    /// Deliveries of one message before it is dead-lettered.
    max_deliveries: u32,
    /// Received again after being given back.
    redelivered: AtomicU64,
    /// Acknowledged, or rejected.
    acked: AtomicU64,
    rejected: AtomicU64,
    /// Dead-lettered after at least one delivery.
    spent: AtomicU64,
    /// Given back and never acknowledged: left when the tree ended.
    in_doubt_left: AtomicU64,
}

/// What changes of state are made under: why it is refused, the consumer waiting for a
/// message, to wake when the mailbox closes, the token of the attempt draining it, and what
/// was left at its end.
struct Gate<T> {
    /// Why it is orphaned or closed (set before `state` changes).
    reason: Option<CloseReason>,
    consumer: Option<Waker>,
    /// Cancelled once the closed mailbox is drained (see `close_draining`).
    draining: Option<CancellationToken>,
    /// What was left when the tree ended, until the application takes it (boxed: a running
    /// mailbox has none).
    left: Option<Box<Undelivered<T>>>,
}

/// What an attempt leases under one lock: the receiver, and who may take it.
struct Slot<T> {
    /// The receiver while no attempt holds it.
    held: Option<Held<T>>,
    /// The child consuming it, as long as that child is in a tree: named in the events its
    /// inbox reports, and the one child whose attempts may lease it (see `claim`).
    consumer: Option<Weak<ChildShared>>,
}

/// Why an attempt was refused the receiver.
pub(crate) enum LeaseRefused {
    /// Another child, at this path, consumes the mailbox.
    Consumer(Arc<str>),
    /// An earlier attempt still holds it.
    Held,
}

pub(crate) struct Shared<T> {
    pub(crate) name: Arc<str>,
    pub(crate) capacity: usize,
    /// `Some` for an at-least-once mailbox (boxed: an at-most-once one has no use for it).
    at_least_once: Option<Box<AckState>>,
    /// Whether a consumer not running when the tree shuts down gets one attempt to drain it.
    pub(crate) drain_on_shutdown: bool,
    /// Where dead letters go, if anywhere, and that mailbox (for the shutdown order).
    dead_letters: Option<Box<(DeadLetterSink<T>, MailboxRef)>>,
    pub(crate) sender: mpsc::Sender<T>,
    /// The receiver between attempts, and who may lease it.
    slot: Mutex<Slot<T>>,
    state: AtomicU8,
    /// Every change of `state` is made under it.
    gate: Mutex<Gate<T>>,
    /// Wakes senders waiting for room when `state` changes.
    pub(crate) changed: Notify,
    /// Received by an attempt for the first time (published by its inbox; see `Inbox`).
    delivered: AtomicU64,
    /// Taken out unreceived: the consumer had terminated for good.
    dead_lettered: AtomicU64,
    /// Never received: left when the tree ended.
    undelivered: AtomicU64,
    /// The tree has ended: what is left was counted.
    finished: AtomicBool,
    /// Where its inbox reports events: the tree that lists it.
    pub(crate) events: std::sync::OnceLock<std::sync::Weak<dyn MailboxEvents>>,
    /// Its drain at shutdown was reported (once).
    drained: AtomicBool,
}

fn lock<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Shared<T> {
    pub(crate) fn new(
        name: Arc<str>,
        capacity: usize,
        max_deliveries: Option<u32>,
        drain_on_shutdown: bool,
        dead_letters: Option<Box<(DeadLetterSink<T>, MailboxRef)>>,
    ) -> Arc<Self> {
        let (sender, receiver) = mpsc::channel(capacity);
        Arc::new(Shared {
            name,
            capacity,
            at_least_once: max_deliveries.map(|max_deliveries| {
                Box::new(AckState {
                    max_deliveries,
                    redelivered: AtomicU64::new(0),
                    acked: AtomicU64::new(0),
                    rejected: AtomicU64::new(0),
                    spent: AtomicU64::new(0),
                    in_doubt_left: AtomicU64::new(0),
                })
            }),
            drain_on_shutdown,
            dead_letters,
            sender,
            slot: Mutex::new(Slot {
                held: Some(Held {
                    receiver,
                    given_back: None,
                }),
                consumer: None,
            }),
            state: AtomicU8::new(OPEN),
            gate: Mutex::new(Gate {
                reason: None,
                consumer: None,
                draining: None,
                left: None,
            }),
            changed: Notify::new(),
            delivered: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            undelivered: AtomicU64::new(0),
            finished: AtomicBool::new(false),
            events: std::sync::OnceLock::new(),
            drained: AtomicBool::new(false),
        })
    }

    /// `Some` for an at-least-once mailbox: deliveries of one message before it is
    /// dead-lettered.
    pub(crate) fn max_deliveries(&self) -> Option<u32> {
        self.at_least_once.as_ref().map(|ack| ack.max_deliveries)
    }

    pub(crate) fn dead_letter_target(&self) -> Option<MailboxRef> {
        self.dead_letters.as_ref().map(|sink| sink.1.clone())
    }

    /// Why it takes no messages now, if it does not. Inline: every send asks, and an open
    /// mailbox answers with one load.
    #[inline]
    pub(crate) fn refusal(&self) -> Option<CloseReason> {
        if self.state.load(Ordering::Acquire) == OPEN {
            return None;
        }
        self.refusal_reason()
    }

    #[cold]
    fn refusal_reason(&self) -> Option<CloseReason> {
        // Set before the state: present. A revival in between leaves it `None`, as it should.
        lock(&self.gate).reason.clone()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) == CLOSED
    }

    /// Room taken now: queued messages, and senders handed room they have not used yet.
    pub(crate) fn len(&self) -> usize {
        self.capacity.saturating_sub(self.sender.capacity())
    }

    /// A new child consumes it: events name it by `path`.
    /// The child in a tree that consumes it now, if any.
    fn consumer(&self) -> Option<Arc<ChildShared>> {
        lock(&self.slot).consumer.as_ref().and_then(Weak::upgrade)
    }

    /// The path of the child consuming it, if that is a child other than one at `path`.
    pub(crate) fn other_consumer(&self, path: &str) -> Option<Arc<str>> {
        let consumer = self.consumer()?;
        (*consumer.path != *path).then(|| Arc::clone(&consumer.path))
    }

    /// `child` consumes it from now on, unless another child still in a tree does: then that
    /// one's path. The same path is the same child (its supervisor ran it again).
    pub(crate) fn claim(&self, child: &Arc<ChildShared>) -> Result<(), Arc<str>> {
        let mut slot = lock(&self.slot);
        if let Some(other) = slot.consumer.as_ref().and_then(|c| other_than(c, child)) {
            return Err(other);
        }
        slot.consumer = Some(Arc::downgrade(child));
        Ok(())
    }

    /// Reports `kind` for the consumer's attempt, if a tree listens.
    pub(crate) fn emit(&self, consumer: ConsumerAttempt, kind: impl FnOnce() -> EventKind) {
        let Some(events) = self.events.get().and_then(std::sync::Weak::upgrade) else {
            return;
        };
        // Listed by a tree only as a child of it starts consuming: claimed by then.
        if let Some(child) = self.consumer() {
            events.emit_for(&child.path, consumer, kind());
        }
    }

    /// The consumer received the last message of the closed mailbox: reported once; the
    /// attempt draining it is cancelled, so that its other waits end too.
    pub(crate) fn drained(&self, consumer: ConsumerAttempt) {
        if !self.drained.swap(true, Ordering::AcqRel) {
            let mailbox = Arc::clone(&self.name);
            self.emit(consumer, || EventKind::MailboxDrained { mailbox });
        }
        // Taken under the gate after `drained` is set: a token handed over later is
        // cancelled by `close_draining` itself.
        let draining = lock(&self.gate).draining.take();
        if let Some(token) = draining {
            token.cancel();
        }
    }

    /// Whether a message waits for the consumer: queued, or given back.
    pub(crate) fn has_waiting(&self) -> bool {
        self.len() > 0
            || lock(&self.slot)
                .held
                .as_ref()
                .is_some_and(|held| held.given_back.is_some())
    }

    /// What the consumer does now, derived from the state and from who holds the receiver.
    pub(crate) fn consumer_state(&self) -> super::ConsumerState {
        if let Some(reason) = self.refusal() {
            return super::ConsumerState::Closed(reason);
        }
        if lock(&self.slot).held.is_some() {
            super::ConsumerState::Waiting
        } else {
            super::ConsumerState::Running
        }
    }

    /// Takes the receiver for an attempt, or `None` if another attempt holds it.
    pub(crate) fn take_receiver(&self) -> Option<Held<T>> {
        lock(&self.slot).held.take()
    }

    /// Takes the receiver for an attempt of `child`, unless another child consumes the
    /// mailbox or another attempt holds it. The consumer's own attempts cost a comparison.
    pub(crate) fn lease_for(&self, child: &Arc<ChildShared>) -> Result<Held<T>, LeaseRefused> {
        let mut slot = lock(&self.slot);
        if let Some(other) = slot.consumer.as_ref().and_then(|c| other_than(c, child)) {
            return Err(LeaseRefused::Consumer(other));
        }
        slot.held.take().ok_or(LeaseRefused::Held)
    }

    /// Gives the receiver back, with its attempt's counts.
    pub(crate) fn return_receiver(&self, held: Held<T>, counts: &mut Counts) {
        self.publish(counts);
        lock(&self.slot).held = Some(held);
    }

    /// [`publish`](Self::publish) once a batch has gathered.
    #[inline]
    pub(crate) fn publish_batch(&self, counts: &mut Counts) {
        if counts.delivered >= PUBLISH_EVERY {
            self.publish(counts);
        }
    }

    /// Adds an attempt's counts to the shared ones, and clears them.
    pub(crate) fn publish(&self, counts: &mut Counts) {
        let Counts {
            delivered,
            redelivered,
            acked,
            rejected,
            spent,
        } = std::mem::take(counts);
        if delivered > 0 {
            self.delivered.fetch_add(delivered, Ordering::Relaxed);
        }
        // An at-most-once inbox counts none of these.
        let Some(ack) = &self.at_least_once else {
            return;
        };
        for (shared, count) in [
            (&ack.redelivered, redelivered),
            (&ack.acked, acked),
            (&ack.rejected, rejected),
            (&ack.spent, spent),
        ] {
            if count > 0 {
                shared.fetch_add(count, Ordering::Relaxed);
            }
        }
    }

    /// The attempt that last held the receiver failed with `failure`: the message it gave
    /// back by dropping it carries it, for its dead letter if it comes to that.
    pub(crate) fn attempt_failed(&self, failure: &crate::observe::Failure) {
        // Only an at-least-once inbox gives a message back.
        if self.at_least_once.is_none() {
            return;
        }
        let mut slot = lock(&self.slot);
        let given_back = slot.held.as_mut().and_then(|held| held.given_back.as_mut());
        if let Some(requeued) = given_back.filter(|r| r.ending.is_none()) {
            requeued.ending = Some(Arc::from(failure.message()));
        }
    }

    /// Hands `message` to the dead-letter mailbox, if there is one; a full or closed one
    /// drops it, with a warning (it is counted as dead-lettered either way).
    pub(crate) fn dead_letter(&self, message: T, deliveries: u32, reason: DeadLetterReason) {
        let Some(sink) = &self.dead_letters else {
            return;
        };
        let sink = &sink.0;
        let letter = DeadLetter {
            message,
            mailbox: Arc::clone(&self.name),
            deliveries,
            reason,
        };
        if let Err(refused) = sink(letter) {
            tracing::warn!(mailbox = %self.name, error = %refused, "a dead letter was dropped");
        }
    }

    /// Its consumer terminated for good: sends fail with `reason` from now on, and what is
    /// queued is dead-lettered. Returns how many messages that was.
    pub(crate) fn orphan(&self, reason: TerminationReason) -> u64 {
        self.change(ORPHANED, CloseReason::ConsumerTerminated(reason.clone()));
        self.dead_letter_queued(&reason)
    }

    /// Its consumer starts again: what reached it while orphaned is dead-lettered (it is not
    /// delivered late), then it takes messages again. Returns how many were dead-lettered.
    /// `child` starting a clone of the consumer's spec revives nothing.
    pub(crate) fn revive(&self, child: &Arc<ChildShared>) -> u64 {
        if self.state.load(Ordering::Acquire) != ORPHANED || self.claim(child).is_err() {
            return 0;
        }
        // Changes of state are made under the gate's lock, so that a close cannot come
        // between the check and the reopening.
        let mut gate = lock(&self.gate);
        if self.state.load(Ordering::Acquire) != ORPHANED {
            return 0;
        }
        let dead = match gate.reason.take() {
            Some(CloseReason::ConsumerTerminated(why)) => self.dead_letter_queued(&why),
            // Orphaned always with its consumer's reason; a close is never undone.
            _ => self.dead_letter_queued(&TerminationReason::Aborted),
        };
        self.state.store(OPEN, Ordering::Release);
        dead
    }

    /// The tree shuts down: sends fail from now on; the consumer receives what is queued,
    /// then `None`.
    pub(crate) fn close(&self) {
        self.change(CLOSED, CloseReason::Shutdown);
    }

    /// [`close`](Self::close), and `token`, its draining attempt's, is cancelled once the
    /// consumer has received the last message (at once if it has already).
    pub(crate) fn close_draining(&self, token: CancellationToken) {
        {
            let mut gate = lock(&self.gate);
            if self.drained.load(Ordering::Acquire) {
                drop(gate);
                token.cancel();
            } else {
                gate.draining = Some(token);
            }
        }
        self.close();
    }

    /// A close is for good: nothing changes a closed mailbox again.
    fn change(&self, state: u8, reason: CloseReason) {
        let consumer = {
            let mut gate = lock(&self.gate);
            if self.state.load(Ordering::Acquire) == CLOSED {
                return;
            }
            gate.reason = Some(reason);
            self.state.store(state, Ordering::Release);
            gate.consumer.take()
        };
        self.changed.notify_waiters();
        if let Some(consumer) = consumer {
            consumer.wake();
        }
    }

    /// The consumer found the channel empty: it is woken when the mailbox closes. Returns
    /// whether it is closed already (then it need not wait).
    pub(crate) fn wait_for_close(&self, waker: &Waker) -> bool {
        let mut gate = lock(&self.gate);
        if self.is_closed() {
            return true;
        }
        match &mut gate.consumer {
            Some(known) if known.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        false
    }

    /// Dead-letters every queued message, the one given back first, if the receiver is in
    /// its slot (no attempt holds it: the consumer is not running).
    fn dead_letter_queued(&self, why: &TerminationReason) -> u64 {
        let mut slot = lock(&self.slot);
        let Some(held) = slot.held.as_mut() else {
            return 0;
        };
        let reason = || DeadLetterReason::ConsumerTerminated(why.clone());
        let mut spent = 0;
        if let Some(requeued) = held.given_back.take() {
            self.dead_letter(requeued.message, requeued.deliveries, reason());
            spent += 1;
        }
        let mut dead = 0;
        while let Ok(message) = held.receiver.try_recv() {
            self.dead_letter(message, 0, reason());
            dead += 1;
        }
        if let Some(ack) = &self.at_least_once {
            ack.spent.fetch_add(spent, Ordering::Relaxed);
        }
        self.dead_lettered.fetch_add(dead, Ordering::Relaxed);
        spent + dead
    }

    /// The tree has ended, every attempt too: closes the channel and takes out what is left,
    /// unreceived, counting it. Exact: Tokio's channel ends only after every send that had
    /// room (none waits across an await here).
    pub(crate) async fn finish(&self) {
        self.close();
        let Some(mut held) = self.take_receiver() else {
            return;
        };
        held.receiver.close();
        let mut left = Undelivered::default();
        while let Some(message) = held.receiver.recv().await {
            left.queued.push(message);
        }
        self.undelivered
            .fetch_add(left.queued.len() as u64, Ordering::Relaxed);
        // A message given back and never acknowledged is in doubt: counted where it is, not
        // derived from the other counts, so that the report would show one lost.
        left.in_doubt = held.given_back.take().map(|requeued| requeued.message);
        if let Some(ack) = &self.at_least_once {
            let in_doubt = u64::from(left.in_doubt.is_some());
            ack.in_doubt_left.fetch_add(in_doubt, Ordering::Relaxed);
        }
        if !left.is_empty() {
            lock(&self.gate).left = Some(Box::new(left));
        }
        self.finished.store(true, Ordering::Release);
        lock(&self.slot).held = Some(held);
    }

    /// What was left when the tree ended, taken out (none before it has ended).
    pub(crate) fn take_undelivered(&self) -> Undelivered<T> {
        if !self.finished.load(Ordering::Acquire) {
            return Undelivered::default();
        }
        let left = lock(&self.gate).left.take();
        left.map_or_else(Undelivered::default, |left| *left)
    }

    /// Derived from counts each kept in one place: a message sent was delivered (at least
    /// once), dead-lettered unreceived, or is queued. One delivered at least once was acked,
    /// rejected, dead-lettered, or is in doubt: while the tree runs that is what remains;
    /// once it has ended, the count left, so that a message lost shows as a shortfall.
    pub(crate) fn stats(&self) -> MailboxStats {
        let load = |count: &AtomicU64| count.load(Ordering::Relaxed);
        let delivered = load(&self.delivered);
        let unreceived = load(&self.dead_lettered);
        let queued = self.len() as u64 + load(&self.undelivered);
        let (mut redelivered, mut acked, mut rejected, mut spent, mut in_doubt) = (0, 0, 0, 0, 0);
        if let Some(ack) = &self.at_least_once {
            (redelivered, acked, rejected) = (
                load(&ack.redelivered),
                load(&ack.acked),
                load(&ack.rejected),
            );
            spent = load(&ack.spent);
            in_doubt = match self.finished.load(Ordering::Acquire) {
                true => load(&ack.in_doubt_left),
                false => delivered.saturating_sub(acked + rejected + spent),
            };
        }
        MailboxStats {
            name: self.name.to_string(),
            capacity: self.capacity,
            max_deliveries: self.max_deliveries(),
            sent: delivered + unreceived + queued,
            queued,
            delivered,
            redelivered,
            acked,
            rejected,
            in_doubt,
            dead_lettered: unreceived + spent,
        }
    }
}

/// The path of the child `claim` names, if that is a child still in a tree other than `child`
/// (the same path is the same child, run again by its supervisor).
fn other_than(claim: &Weak<ChildShared>, child: &Arc<ChildShared>) -> Option<Arc<str>> {
    if std::ptr::eq(claim.as_ptr(), Arc::as_ptr(child)) {
        return None;
    }
    let other = claim.upgrade()?;
    (other.path != child.path).then(|| Arc::clone(&other.path))
}
