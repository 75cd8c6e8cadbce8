//! Randomized test of mailboxes against a ledger of what was sent, delivered, settled and
//! dead-lettered, in both delivery modes: producers sending each message in a random way
//! (waiting, `try_send`, with a timeout, cancelled by their context); a consumer whose
//! attempts ack, reject, nack or drop a message, fail, panic, hang, slow down, meet a poison
//! message, are failed or restarted by an operator; a sibling whose failures restart it under
//! rest_for_one; restarts of its supervisor (nested, and by its own intensity); a breaker
//! that ends it for good; dead letters sent to a keeper; a shutdown at a random time, with a
//! timeout long enough to drain or too short for it.
//!
//! After each case: every send that returned `Ok` ends in exactly one of processed (received
//! at most once; acked or rejected at least once), dead-lettered (and the keeper got it),
//! undelivered or in doubt, and the report's counts equal the ledger's; a failed send gave
//! its own message back. At most once: no message is delivered twice. At least once: a
//! message not settled on a delivery is delivered again next, with its count one higher,
//! until it is settled, dead-lettered after exactly `max_deliveries` deliveries, dead-lettered
//! when the consumer ends, or reported in doubt; a settled message is never delivered again
//! (exactly once without failures). Each producer's messages are first delivered in the order
//! sent; no two attempts ever held the inbox at once.
//!
//! Each case comes from a seed (printed on failure; rerun one with `MAILBOX_SEED=n`);
//! `MAILBOX_CASES=n` sets how many run (default 200, a few seconds).

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Rng, test_config};
use supervisor::mailbox::{
    AckInbox, AtLeastOnce, Consumer, DeadLetter, DeadLetterReason, Inbox, Mailbox, MailboxStats,
    Outbox, SendError, SendTimeoutError, TrySendError, Undelivered, service_with_inbox,
};
use supervisor::prelude::*;
use supervisor::testing::TestKit;

const INJECTED: &str = "injected";
const ROUTER: &str = "bot/execution/router";

/// A message: who sent it, its number in that producer's sequence, and what the consumer
/// does when it gets it.
struct Order {
    producer: u32,
    seq: u32,
    handling: Handling,
}

type Id = (u32, u32);

fn id(order: &Order) -> Id {
    (order.producer, order.seq)
}

/// What the consumer does with a message. Failures other than `Poison` come on its first
/// delivery only (a transient fault); at most once, `Reject`, `Nack` and `Drop` are `Done`.
#[derive(Clone, Copy, Debug)]
enum Handling {
    Done,
    Reject,
    Nack,
    /// Dropped unacknowledged while the attempt goes on.
    Drop,
    Fails,
    Panics,
    /// Fails on every delivery.
    Poison,
    Slow,
    /// Longer than the short shutdown timeouts and the gaps between operator faults.
    Hangs,
}

#[derive(Default)]
struct Ledger {
    /// Sends that returned `Ok`.
    sent: Vec<Id>,
    /// Every delivery, in order, with its count (1 at most once).
    received: Vec<(Id, u32)>,
    /// Acked or rejected (at least once), in order.
    settled: Vec<Id>,
    rejected: u64,
    /// What the dead-letter keeper received.
    dead: Vec<(Id, u32, DeadLetterReason)>,
    /// Sends that failed, with the message they gave back: (attempted, returned).
    returned: Vec<(Id, Id)>,
}

/// Counts the attempts holding the inbox now; the highest count seen.
#[derive(Default)]
struct Leases {
    now: AtomicU32,
    most: AtomicU32,
}

struct Held(Arc<Leases>);

impl Held {
    fn new(leases: &Arc<Leases>) -> Self {
        let now = leases.now.fetch_add(1, Ordering::SeqCst) + 1;
        leases.most.fetch_max(now, Ordering::SeqCst);
        Held(Arc::clone(leases))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How the router is built in a case.
struct Shape {
    selects: bool,
    shutdown_ms: u64,
    breaker: bool,
}

type Shared = (Arc<Mutex<Ledger>>, Arc<Leases>);

fn router_policies(spec: ChildSpec, shape: &Shape) -> ChildSpec {
    spec.with_restart(RestartPolicy::Always)
        .with_backoff(if shape.breaker {
            // Ends it for good after four failures in a row: its mailbox refuses sends and
            // its queue is dead-lettered until it is started again.
            common::plain_backoff(3, 3).with_circuit_breaker(4, Duration::from_secs(1))
        } else {
            common::plain_backoff(3, 3)
        })
        .with_shutdown(ShutdownPolicy::Timeout(Duration::from_millis(
            shape.shutdown_ms,
        )))
}

/// Waits for the next message, or returns from the attempt if `selects` and it is cancelled.
macro_rules! next {
    ($ctx:expr, $recv:expr, $selects:expr) => {
        if $selects {
            tokio::select! {
                _ = $ctx.cancelled() => return Ok(()),
                next = $recv => next,
            }
        } else {
            $recv.await
        }
    };
}

fn at_most_once_router(consumer: Consumer<Order>, shared: &Shared, shape: &Shape) -> ChildSpec {
    let (ledger, leases) = shared.clone();
    let selects = shape.selects;
    let spec = service_with_inbox("router", consumer, move |ctx, inbox: &mut Inbox<Order>| {
        let (ledger, leases) = (Arc::clone(&ledger), Arc::clone(&leases));
        Box::pin(async move {
            let _held = Held::new(&leases);
            loop {
                let Some(order) = next!(ctx, inbox.recv(), selects) else {
                    return Ok(());
                };
                ledger.lock().unwrap().received.push((id(&order), 1));
                match order.handling {
                    Handling::Fails | Handling::Poison => {
                        return Err(ServiceError::from("rejected by the venue"));
                    }
                    Handling::Panics => std::panic::panic_any(INJECTED),
                    Handling::Slow => tokio::time::sleep(Duration::from_millis(7)).await,
                    Handling::Hangs => tokio::time::sleep(Duration::from_millis(40)).await,
                    Handling::Done | Handling::Reject | Handling::Nack | Handling::Drop => {}
                }
            }
        })
    });
    router_policies(spec, shape)
}

fn at_least_once_router(
    consumer: Consumer<Order, AtLeastOnce>,
    shared: &Shared,
    shape: &Shape,
) -> ChildSpec {
    let (ledger, leases) = shared.clone();
    let selects = shape.selects;
    let spec = service_with_inbox(
        "router",
        consumer,
        move |ctx, inbox: &mut AckInbox<Order>| {
            let (ledger, leases) = (Arc::clone(&ledger), Arc::clone(&leases));
            Box::pin(async move {
                let _held = Held::new(&leases);
                loop {
                    let Some(delivery) = next!(ctx, inbox.recv(), selects) else {
                        return Ok(());
                    };
                    let (order, deliveries) = (id(&delivery), delivery.deliveries());
                    ledger.lock().unwrap().received.push((order, deliveries));
                    let first = deliveries == 1;
                    match delivery.handling {
                        Handling::Poison => return Err(ServiceError::from("poison")),
                        Handling::Fails if first => {
                            return Err(ServiceError::from("rejected by the venue"));
                        }
                        Handling::Panics if first => std::panic::panic_any(INJECTED),
                        Handling::Nack if first => {
                            delivery.nack();
                            continue;
                        }
                        Handling::Drop if first => {
                            drop(delivery);
                            continue;
                        }
                        Handling::Reject => {
                            delivery.reject();
                            let mut ledger = ledger.lock().unwrap();
                            ledger.settled.push(order);
                            ledger.rejected += 1;
                            continue;
                        }
                        Handling::Slow => tokio::time::sleep(Duration::from_millis(7)).await,
                        Handling::Hangs => tokio::time::sleep(Duration::from_millis(40)).await,
                        _ => {}
                    }
                    delivery.ack();
                    ledger.lock().unwrap().settled.push(order);
                }
            })
        },
    );
    router_policies(spec, shape)
}

/// Receives the dead letters, into the ledger.
fn keeper(consumer: Consumer<DeadLetter<Order>>, ledger: &Arc<Mutex<Ledger>>) -> ChildSpec {
    let ledger = Arc::clone(ledger);
    service_with_inbox(
        "keeper",
        consumer,
        move |_ctx, inbox: &mut Inbox<DeadLetter<Order>>| {
            let ledger = Arc::clone(&ledger);
            Box::pin(async move {
                while let Some(letter) = inbox.recv().await {
                    let entry = (id(&letter.message), letter.deliveries, letter.reason);
                    ledger.lock().unwrap().dead.push(entry);
                }
                Ok::<(), ServiceError>(())
            })
        },
    )
    .with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(10)))
}

/// Sends `count` messages, each in a random way; stops at the first refusal for good.
async fn produce(
    producer: u32,
    count: u32,
    outbox: Outbox<Order>,
    seed: u64,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut rng = Rng::new(seed);
    for seq in 0..count {
        let handling = match rng.below(100) {
            0..=4 => Handling::Fails,
            5..=7 => Handling::Panics,
            8..=15 => Handling::Slow,
            16..=18 => Handling::Reject,
            19..=21 => Handling::Nack,
            22..=24 => Handling::Drop,
            25 => Handling::Poison,
            26 => Handling::Hangs,
            _ => Handling::Done,
        };
        let order = Order {
            producer,
            seq,
            handling,
        };
        let refused = match rng.below(4) {
            0 => outbox
                .send(order)
                .await
                .err()
                .map(|e| (false, e.into_message())),
            1 => match outbox.try_send(order) {
                Ok(()) => None,
                Err(TrySendError::Full(order)) => Some((false, order)),
                Err(error) => Some((true, error.into_message())),
            },
            2 => {
                let wait = Duration::from_millis(rng.below(10));
                match outbox.send_timeout(order, wait).await {
                    Ok(()) => None,
                    Err(SendTimeoutError::Timeout(order)) => Some((false, order)),
                    Err(error) => Some((true, error.into_message())),
                }
            }
            _ => {
                let ctx = TaskContext::detached("strategy");
                let token = ctx.cancellation_token().clone();
                let after = Duration::from_millis(rng.below(5));
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    token.cancel();
                });
                match outbox.send_with(&ctx, order).await {
                    Ok(()) => None,
                    Err(SendError::Cancelled(order)) => Some((false, order)),
                    Err(error) => Some((true, error.into_message())),
                }
            }
        };
        let closed = {
            let mut ledger = ledger.lock().unwrap();
            match refused {
                None => {
                    ledger.sent.push((producer, seq));
                    false
                }
                Some((closed, back)) => {
                    ledger
                        .returned
                        .push(((producer, seq), (back.producer, back.seq)));
                    closed
                }
            }
        };
        if closed {
            return;
        }
        if rng.chance(30) {
            tokio::time::sleep(Duration::from_millis(rng.below(4))).await;
        }
    }
}

/// How often each outcome came up over the run, so that the test cannot quietly stop
/// reaching one.
#[derive(Default, Debug)]
struct Coverage {
    delivered: u64,
    redelivered: u64,
    acked: u64,
    rejected: u64,
    spent: u64,
    dead_lettered: u64,
    undelivered: u64,
    in_doubt: u64,
    refused: u64,
}

async fn run_case(seed: u64, coverage: &mut Coverage) {
    let mut rng = Rng::new(seed);
    let capacity = 1 + rng.below(8) as usize;
    let at_least_once = rng.chance(50);
    let max_deliveries = 2 + rng.below(3) as u32;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let shared: Shared = (Arc::clone(&ledger), Arc::new(Leases::default()));
    let shape = Shape {
        selects: rng.chance(50),
        shutdown_ms: rng.pick(&[2, 30, 10_000]),
        breaker: rng.chance(40),
    };
    // Room for every dead letter a case can make: the keeper must never drop one.
    let (dead, dead_consumer) = Mailbox::<DeadLetter<Order>>::bounded("dead", 1_024).unwrap();
    let builder = Mailbox::<Order>::builder("orders", capacity).dead_letters(dead.sender());
    let (outbox, router, left): (_, _, Box<dyn Fn() -> Undelivered<Order>>) = if at_least_once {
        let (orders, consumer) = builder.at_least_once(max_deliveries).build().unwrap();
        (
            orders.sender(),
            at_least_once_router(consumer, &shared, &shape),
            Box::new(move || orders.take_undelivered()),
        )
    } else {
        let (orders, consumer) = builder.build().unwrap();
        (
            orders.sender(),
            at_most_once_router(consumer, &shared, &shape),
            Box::new(move || orders.take_undelivered()),
        )
    };
    let execution = SupervisorSpec::builder("execution")
        .strategy(Strategy::RestForOne)
        .intensity(20 + rng.below(200) as u32, Duration::from_secs(1))
        .child(common::idle("flaky").with_backoff(common::plain_backoff(2, 2)))
        .child(router)
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        .intensity(1_000, Duration::from_secs(1))
        .child(keeper(dead_consumer, &ledger))
        // Its router's mailbox sends dead letters to the keeper's: at shutdown it stops
        // first, and the keeper receives every dead letter made.
        .child(ChildSpec::supervisor(execution).with_backoff(common::plain_backoff(2, 2)))
        .build()
        .unwrap();
    let mut kit = TestKit::start_with_config(spec, test_config())
        .await
        .unwrap();
    let producers: Vec<_> = (0..1 + rng.below(4) as u32)
        .map(|producer| {
            tokio::spawn(produce(
                producer,
                20 + rng.below(60) as u32,
                outbox.clone(),
                rng.next(),
                Arc::clone(&ledger),
            ))
        })
        .collect();
    for _ in 0..rng.below(40) {
        kit.advance(Duration::from_millis(rng.below(6))).await;
        match rng.below(12) {
            0 | 4 => kit.fail(ROUTER, "injected failure"),
            1 | 5 => kit.panic(ROUTER, INJECTED),
            2 => kit.fail("bot/execution/flaky", "injected failure"),
            3 => {
                let _ = kit.tree().restart_child(ROUTER, "test", "random").await;
            }
            6 => {
                let _ = kit
                    .tree()
                    .restart_child("bot/execution", "test", "nested")
                    .await;
            }
            _ => {}
        }
    }
    let report = kit.tree().shutdown_tree("test", "done").await;
    for producer in producers {
        // Every producer ends: refused at the close, or done.
        tokio::time::timeout(Duration::from_secs(60), producer)
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: a producer still waits after shutdown"))
            .unwrap();
    }
    let ledger = ledger.lock().unwrap();
    let case = format!("seed {seed}");
    let orders = check_common(&case, &ledger, &shared.1, &report.mailboxes);
    let dead_of = check_dead_letters(&case, &ledger, &report.mailboxes);
    if at_least_once {
        check_at_least_once(&case, &ledger, orders, &dead_of, max_deliveries);
    } else {
        check_at_most_once(&case, &ledger, orders);
    }
    check_left(&case, &ledger, &dead_of, &left(), at_least_once);
    coverage.delivered += orders.delivered;
    coverage.redelivered += orders.redelivered;
    coverage.acked += orders.acked;
    coverage.rejected += orders.rejected;
    coverage.spent += ledger
        .dead
        .iter()
        .filter(|(_, _, reason)| matches!(reason, DeadLetterReason::MaxDeliveries { .. }))
        .count() as u64;
    coverage.dead_lettered += orders.dead_lettered;
    coverage.undelivered += orders.queued;
    coverage.in_doubt += orders.in_doubt;
    coverage.refused += ledger.returned.len() as u64;
}

/// What holds in both modes; returns the orders mailbox's final counts.
fn check_common<'a>(
    case: &str,
    ledger: &Ledger,
    leases: &Leases,
    mailboxes: &'a [MailboxStats],
) -> &'a MailboxStats {
    let names: Vec<_> = mailboxes.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["dead", "orders"], "{case}: both mailboxes reported");
    let stats = &mailboxes[1];
    assert_eq!(stats.sent, ledger.sent.len() as u64, "{case}: {stats}");
    for (attempted, back) in &ledger.returned {
        assert_eq!(
            attempted, back,
            "{case}: a failed send gave back its own message"
        );
    }
    let sent: HashSet<_> = ledger.sent.iter().collect();
    let mut last: HashMap<u32, u32> = HashMap::new();
    for (order, deliveries) in &ledger.received {
        assert!(
            sent.contains(order),
            "{case}: {order:?} received but never sent"
        );
        if *deliveries > 1 {
            continue;
        }
        // First deliveries follow each producer's order.
        let (producer, seq) = *order;
        if let Some(before) = last.insert(producer, seq) {
            assert!(
                before < seq,
                "{case}: producer {producer}: {seq} after {before}"
            );
        }
    }
    assert!(
        leases.most.load(Ordering::SeqCst) <= 1,
        "{case}: two attempts held the inbox at once"
    );
    assert_eq!(
        leases.now.load(Ordering::SeqCst),
        0,
        "{case}: an attempt still holds it"
    );
    stats
}

/// Every dead letter reached the keeper, once, for a message sent; returns each one's
/// letter by id.
fn check_dead_letters<'a>(
    case: &str,
    ledger: &'a Ledger,
    mailboxes: &[MailboxStats],
) -> HashMap<Id, (u32, &'a DeadLetterReason)> {
    let (dead, orders) = (&mailboxes[0], &mailboxes[1]);
    assert_eq!(
        orders.dead_lettered,
        ledger.dead.len() as u64,
        "{case}: the keeper got every dead letter: {orders}; {dead}; {:?}",
        ledger.dead
    );
    assert_eq!(
        (dead.sent, dead.delivered, dead.dead_lettered),
        (orders.dead_lettered, orders.dead_lettered, 0),
        "{case}: {dead}"
    );
    let sent: HashSet<_> = ledger.sent.iter().collect();
    let mut by_id = HashMap::new();
    for (order, deliveries, reason) in &ledger.dead {
        assert!(
            sent.contains(order),
            "{case}: {order:?} dead but never sent"
        );
        let before = by_id.insert(*order, (*deliveries, reason));
        assert!(before.is_none(), "{case}: {order:?} dead-lettered twice");
    }
    by_id
}

/// What the mailbox still held when the tree ended is, message for message, what the ledger
/// says is neither processed nor dead-lettered: those never received, in each producer's
/// order, and the one delivered and never settled (at least once), if any.
fn check_left(
    case: &str,
    ledger: &Ledger,
    dead: &HashMap<Id, (u32, &DeadLetterReason)>,
    left: &Undelivered<Order>,
    at_least_once: bool,
) {
    let received: HashSet<Id> = ledger.received.iter().map(|(order, _)| *order).collect();
    let settled: HashSet<Id> = ledger.settled.iter().copied().collect();
    let mut never: Vec<Id> = ledger
        .sent
        .iter()
        .filter(|order| !received.contains(order) && !dead.contains_key(order))
        .copied()
        .collect();
    let mut queued: Vec<Id> = left.queued.iter().map(id).collect();
    let mut last: HashMap<u32, u32> = HashMap::new();
    for (producer, seq) in &queued {
        if let Some(before) = last.insert(*producer, *seq) {
            assert!(before < *seq, "{case}: left queued out of order");
        }
    }
    never.sort();
    queued.sort();
    assert_eq!(
        queued, never,
        "{case}: left queued = never received, not dead"
    );
    // At most once, a message received is processed: nothing is in doubt.
    let mut unsettled: Vec<Id> = received
        .iter()
        .filter(|order| at_least_once && !settled.contains(order) && !dead.contains_key(order))
        .copied()
        .collect();
    assert!(unsettled.len() <= 1, "{case}: {unsettled:?} in doubt");
    assert_eq!(
        left.in_doubt.as_ref().map(id),
        unsettled.pop(),
        "{case}: left in doubt"
    );
}

fn check_at_most_once(case: &str, ledger: &Ledger, stats: &MailboxStats) {
    assert_eq!(
        stats.delivered,
        ledger.received.len() as u64,
        "{case}: {stats}"
    );
    let mut seen = HashSet::new();
    for (order, _) in &ledger.received {
        assert!(seen.insert(order), "{case}: {order:?} delivered twice");
    }
    for (order, deliveries, _) in &ledger.dead {
        assert_eq!(*deliveries, 0, "{case}: {order:?} dead after a delivery");
        assert!(
            !seen.contains(order),
            "{case}: {order:?} delivered and dead"
        );
    }
    assert_eq!(
        (stats.redelivered, stats.acked, stats.in_doubt),
        (0, 0, 0),
        "{case}"
    );
}

fn check_at_least_once(
    case: &str,
    ledger: &Ledger,
    stats: &MailboxStats,
    dead: &HashMap<Id, (u32, &DeadLetterReason)>,
    max_deliveries: u32,
) {
    // Each message's deliveries, counted 1, 2, 3, ..., and where its last one is.
    let mut count: HashMap<Id, u32> = HashMap::new();
    let mut last_at: HashMap<Id, usize> = HashMap::new();
    for (at, (order, deliveries)) in ledger.received.iter().enumerate() {
        let before = count.insert(*order, *deliveries).unwrap_or(0);
        assert_eq!(
            *deliveries,
            before + 1,
            "{case}: {order:?} delivery {deliveries} after {before}"
        );
        assert!(
            *deliveries <= max_deliveries,
            "{case}: {order:?} delivered past max_deliveries"
        );
        last_at.insert(*order, at);
    }
    let mut settled = HashSet::new();
    for order in &ledger.settled {
        assert!(settled.insert(*order), "{case}: {order:?} settled twice");
    }
    // A delivery not settled comes again next (it went back to the front), so a message
    // settled on a delivery is never delivered again: exactly once on its first.
    for (at, (order, deliveries)) in ledger.received.iter().enumerate() {
        if last_at[order] != at {
            let next = ledger.received.get(at + 1).map(|(o, d)| (*o, *d));
            assert_eq!(
                next,
                Some((*order, deliveries + 1)),
                "{case}: {order:?} given back at delivery {deliveries}, then another came"
            );
            continue;
        }
        if settled.contains(order) {
            assert!(
                !dead.contains_key(order),
                "{case}: {order:?} settled and dead"
            );
            continue;
        }
        // Last delivered and never settled: dead-lettered, or in doubt at the end.
        if let Some((letter_deliveries, reason)) = dead.get(order) {
            assert_eq!(letter_deliveries, deliveries, "{case}: {order:?}");
            if let DeadLetterReason::MaxDeliveries { .. } = reason {
                assert_eq!(*deliveries, max_deliveries, "{case}: {order:?} spent early");
            }
        }
    }
    for (order, (deliveries, _)) in dead {
        assert_eq!(
            count.get(order).copied().unwrap_or(0),
            *deliveries,
            "{case}: {order:?}'s dead letter counts its deliveries"
        );
    }
    // The report equals the ledger: each sent message in exactly one bucket.
    let delivered = count.len() as u64;
    let in_doubt = count
        .keys()
        .filter(|order| !settled.contains(*order) && !dead.contains_key(*order))
        .count() as u64;
    let never_delivered_dead = dead.values().filter(|(d, _)| *d == 0).count() as u64;
    assert_eq!(stats.delivered, delivered, "{case}: {stats}");
    assert_eq!(
        stats.redelivered,
        ledger.received.len() as u64 - delivered,
        "{case}: {stats}"
    );
    assert_eq!(
        stats.acked + stats.rejected,
        settled.len() as u64,
        "{case}: {stats}"
    );
    assert_eq!(stats.rejected, ledger.rejected, "{case}: {stats}");
    assert_eq!(stats.in_doubt, in_doubt, "{case}: {stats}");
    // One lease: at most one message was in hand, or given back, when the tree ended.
    assert!(in_doubt <= 1, "{case}: {stats}");
    // Conservation, from counts each kept apart: nothing sent went missing.
    assert_eq!(
        stats.acked + stats.rejected + stats.dead_lettered + stats.queued + stats.in_doubt,
        stats.sent,
        "{case}: {stats}"
    );
    assert_eq!(
        stats.queued,
        ledger.sent.len() as u64 - delivered - never_delivered_dead,
        "{case}: {stats}"
    );
}

#[test]
fn random_producers_consumers_and_faults_lose_nothing() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&INJECTED) {
            default(info);
        }
    }));
    if std::env::var("MAILBOX_TRACE").is_ok() {
        tracing_subscriber::fmt().with_test_writer().init();
    }
    let seeds = common::seeds("MAILBOX_SEED", "MAILBOX_CASES", 200);
    let mut coverage = Coverage::default();
    let many = seeds.len() >= 100;
    for seed in seeds {
        common::paused_runtime().block_on(run_case(seed, &mut coverage));
    }
    if many {
        let Coverage {
            delivered,
            redelivered,
            acked,
            rejected,
            spent,
            dead_lettered,
            undelivered,
            in_doubt,
            refused,
        } = coverage;
        assert!(
            [
                delivered,
                redelivered,
                acked,
                rejected,
                spent,
                dead_lettered,
                undelivered,
                in_doubt,
                refused
            ]
            .iter()
            .all(|&count| count > 0),
            "some outcome never came up: {coverage:?}"
        );
    }
}
