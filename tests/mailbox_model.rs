//! Randomized test of mailboxes against a ledger of what was sent and received: producers
//! sending each message in a random way (waiting, `try_send`, with a timeout, cancelled by
//! their context), a consumer whose attempts fail, panic, slow down or are restarted by an
//! operator, a sibling whose failures restart it under rest_for_one, and a shutdown at a
//! random time, with a timeout long enough to drain or too short for it.
//!
//! After each case: every send that returned `Ok` is delivered, dead-lettered or left queued,
//! and the report's counts equal the ledger's; a failed send gave its own message back; no
//! message is delivered twice (at most once); each producer's messages are delivered in the
//! order sent; no two attempts ever held the inbox at once.
//!
//! Each case comes from a seed (printed on failure; rerun one with `MAILBOX_SEED=n`);
//! `MAILBOX_CASES=n` sets how many run (default 200, a few seconds).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Rng, test_config};
use supervisor::mailbox::{Inbox, Mailbox, Outbox, SendError, SendTimeoutError, TrySendError};
use supervisor::mailbox::{MailboxStats, service_with_inbox};
use supervisor::prelude::*;
use supervisor::testing::TestKit;

const INJECTED: &str = "injected";

/// A message: who sent it, its number in that producer's sequence, and what the consumer
/// does when it gets it.
struct Order {
    producer: u32,
    seq: u32,
    handling: Handling,
}

#[derive(Clone, Copy, Debug)]
enum Handling {
    Done,
    Fails,
    Panics,
    Slow,
}

#[derive(Default)]
struct Ledger {
    /// Sends that returned `Ok`.
    sent: Vec<(u32, u32)>,
    /// Messages an attempt received, in order.
    received: Vec<(u32, u32)>,
    /// Sends that failed, with the message they gave back: (attempted, returned).
    returned: Vec<((u32, u32), (u32, u32))>,
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

fn router(
    consumer: supervisor::mailbox::Consumer<Order>,
    ledger: &Arc<Mutex<Ledger>>,
    leases: &Arc<Leases>,
    selects: bool,
    shutdown_ms: u64,
    breaker: bool,
) -> ChildSpec {
    let (ledger, leases) = (Arc::clone(ledger), Arc::clone(leases));
    service_with_inbox("router", consumer, move |ctx, inbox: &mut Inbox<Order>| {
        let (ledger, leases) = (Arc::clone(&ledger), Arc::clone(&leases));
        Box::pin(async move {
            let _held = Held::new(&leases);
            loop {
                let next = if selects {
                    tokio::select! {
                        _ = ctx.cancelled() => return Ok(()),
                        next = inbox.recv() => next,
                    }
                } else {
                    inbox.recv().await
                };
                let Some(order) = next else {
                    return Ok(());
                };
                ledger
                    .lock()
                    .unwrap()
                    .received
                    .push((order.producer, order.seq));
                match order.handling {
                    Handling::Done => {}
                    Handling::Fails => return Err(ServiceError::from("rejected by the venue")),
                    Handling::Panics => std::panic::panic_any(INJECTED),
                    Handling::Slow => tokio::time::sleep(Duration::from_millis(7)).await,
                }
            }
        })
    })
    .with_restart(RestartPolicy::Always)
    .with_backoff(if breaker {
        // Ends it for good after four failures in a row: its mailbox refuses sends and its
        // queue is dead-lettered until an operator restarts it.
        common::plain_backoff(3, 3).with_circuit_breaker(4, Duration::from_secs(1))
    } else {
        common::plain_backoff(3, 3)
    })
    .with_shutdown(ShutdownPolicy::Timeout(Duration::from_millis(shutdown_ms)))
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
    dead_lettered: u64,
    undelivered: u64,
    refused: u64,
}

async fn run_case(seed: u64, coverage: &mut Coverage) {
    let mut rng = Rng::new(seed);
    let capacity = 1 + rng.below(8) as usize;
    let (orders, consumer) = Mailbox::<Order>::bounded("orders", capacity).unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let leases = Arc::new(Leases::default());
    let shutdown_ms = rng.pick(&[2, 30, 10_000]);
    let spec = SupervisorSpec::builder("bot")
        .strategy(Strategy::RestForOne)
        .intensity(1_000, Duration::from_secs(1))
        .child(common::idle("flaky").with_backoff(common::plain_backoff(2, 2)))
        .child(router(
            consumer,
            &ledger,
            &leases,
            rng.chance(50),
            shutdown_ms,
            rng.chance(40),
        ))
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
                orders.sender(),
                rng.next(),
                Arc::clone(&ledger),
            ))
        })
        .collect();
    for _ in 0..rng.below(40) {
        kit.advance(Duration::from_millis(rng.below(6))).await;
        match rng.below(10) {
            0 | 4 => kit.fail("bot/router", "injected failure"),
            1 | 5 => kit.panic("bot/router", INJECTED),
            2 => kit.fail("bot/flaky", "injected failure"),
            3 => {
                let _ = kit
                    .tree()
                    .restart_child("bot/router", "test", "random")
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
    check(seed, &ledger, &leases, &report.mailboxes);
    let stats = &report.mailboxes[0];
    coverage.delivered += stats.delivered;
    coverage.dead_lettered += stats.dead_lettered;
    coverage.undelivered += stats.queued;
    coverage.refused += ledger.returned.len() as u64;
}

fn check(seed: u64, ledger: &Ledger, leases: &Leases, mailboxes: &[MailboxStats]) {
    let case = format!("seed {seed}");
    assert_eq!(mailboxes.len(), 1, "{case}: one mailbox in the report");
    let stats = &mailboxes[0];
    // Conservation: the report's sent (delivered + dead-lettered + queued) is the ledger's.
    assert_eq!(stats.sent, ledger.sent.len() as u64, "{case}: {stats}");
    assert_eq!(
        stats.delivered,
        ledger.received.len() as u64,
        "{case}: {stats}"
    );
    for (attempted, back) in &ledger.returned {
        assert_eq!(
            attempted, back,
            "{case}: a failed send gave back its own message"
        );
    }
    let sent: std::collections::HashSet<_> = ledger.sent.iter().collect();
    let mut seen = std::collections::HashSet::new();
    let mut last: HashMap<u32, u32> = HashMap::new();
    for id in &ledger.received {
        assert!(sent.contains(id), "{case}: {id:?} received but never sent");
        assert!(seen.insert(id), "{case}: {id:?} delivered twice");
        let (producer, seq) = *id;
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
}

#[test]
fn random_producers_consumers_and_faults_lose_nothing() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&INJECTED) {
            default(info);
        }
    }));
    let seeds = common::seeds("MAILBOX_SEED", "MAILBOX_CASES", 200);
    let mut coverage = Coverage::default();
    let many = seeds.len() >= 100;
    for seed in seeds {
        common::paused_runtime().block_on(run_case(seed, &mut coverage));
    }
    if many {
        assert!(
            coverage.delivered > 0
                && coverage.dead_lettered > 0
                && coverage.undelivered > 0
                && coverage.refused > 0,
            "some outcome never came up: {coverage:?}"
        );
    }
}
