//! At-least-once mailboxes: a message not acknowledged comes back at the front until it is,
//! a poison message becomes a dead letter after `max_deliveries`, and what an aborted attempt
//! held is reported in doubt.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use supervisor::EventKind;
use supervisor::mailbox::{
    AckInbox, AtLeastOnce, CloseReason, Consumer, DeadLetter, DeadLetterReason, Inbox, Mailbox,
    SendError, service_with_inbox,
};
use supervisor::prelude::*;

/// Each delivery as (attempt, message, deliveries).
type Seen = Arc<Mutex<Vec<(u32, u32, u32)>>>;

#[derive(Clone, Copy, PartialEq)]
enum Step {
    Ack,
    Reject,
    Nack,
    Fail,
    Panic,
    /// Dropped while the attempt goes on.
    Drop,
}

/// A consumer that records each delivery and handles it as `step(message, deliveries)` says.
fn consumer_doing(
    consumer: Consumer<u32, AtLeastOnce>,
    seen: &Seen,
    step: fn(u32, u32) -> Step,
) -> ChildSpec {
    let seen = Arc::clone(seen);
    service_with_inbox("router", consumer, move |ctx, inbox: &mut AckInbox<u32>| {
        let seen = Arc::clone(&seen);
        Box::pin(async move {
            while let Some(delivery) = inbox.recv().await {
                let (message, deliveries) = (*delivery, delivery.deliveries());
                seen.lock()
                    .unwrap()
                    .push((ctx.attempt(), message, deliveries));
                match step(message, deliveries) {
                    Step::Ack => {
                        assert_eq!(delivery.ack(), message);
                    }
                    Step::Reject => {
                        delivery.reject();
                    }
                    Step::Nack => delivery.nack(),
                    Step::Fail => return Err(ServiceError::from(format!("bad order {message}"))),
                    Step::Panic => panic!("order {message} crashed the router"),
                    Step::Drop => drop(delivery),
                }
            }
            Ok(())
        })
    })
    .with_backoff(plain_backoff(100, 100))
}

fn seen(seen: &Seen) -> Vec<(u32, u32, u32)> {
    seen.lock().unwrap().clone()
}

fn ack_mailbox(
    capacity: usize,
    max_deliveries: u32,
) -> (Mailbox<u32, AtLeastOnce>, Consumer<u32, AtLeastOnce>) {
    Mailbox::<u32>::builder("orders", capacity)
        .at_least_once(max_deliveries)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_message_in_hand_when_its_attempt_fails_comes_back_first() {
    let (orders, consumer) = ack_mailbox(16, 5);
    let record = Seen::default();
    let tree = start_bot([consumer_doing(consumer, &record, |m, d| match (m, d) {
        (2, 1) => Step::Fail,
        (4, 1) => Step::Panic,
        _ => Step::Ack,
    })])
    .await;
    let outbox = orders.sender();
    for order in 1..=5 {
        outbox.send(order).await.unwrap();
    }
    run_for(1_000).await;
    // 2 and 4 come back at the front of the next attempt, counted as a second delivery.
    assert_eq!(
        seen(&record),
        [
            (1, 1, 1),
            (1, 2, 1),
            (2, 2, 2),
            (2, 3, 1),
            (2, 4, 1),
            (3, 4, 2),
            (3, 5, 1)
        ]
    );
    let stats = orders.stats();
    assert_eq!(
        (stats.sent, stats.delivered, stats.redelivered, stats.acked),
        (5, 5, 2, 5)
    );
    assert_eq!(
        (stats.in_doubt, stats.dead_lettered, stats.queued),
        (0, 0, 0)
    );
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(
        report.to_string(),
        "shutdown in 0ms: 1 graceful, 0 aborted, 0 detached, 0 not running; \
         orders: 5 sent, 5 delivered (2 redelivered), 5 acked, 0 rejected, 0 in doubt, \
         0 dead-lettered, 0/16 queued"
    );
}

#[tokio::test(start_paused = true)]
async fn without_failures_every_message_is_delivered_exactly_once() {
    let (orders, consumer) = ack_mailbox(8, 3);
    let record = Seen::default();
    let tree = start_bot([consumer_doing(consumer, &record, |_, _| Step::Ack)]).await;
    let outbox = orders.sender();
    for order in 0..100 {
        outbox.send(order).await.unwrap();
    }
    let report = tree.shutdown_tree("test", "done").await;
    let expected: Vec<_> = (0..100).map(|m| (1, m, 1)).collect();
    assert_eq!(seen(&record), expected);
    let stats = &report.mailboxes[0];
    assert_eq!((stats.sent, stats.delivered, stats.acked), (100, 100, 100));
    assert_eq!((stats.redelivered, stats.in_doubt), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_poison_message_is_dead_lettered_after_max_deliveries_and_the_next_proceeds() {
    let (poison, poison_consumer) = Mailbox::<DeadLetter<u32>>::bounded("poison", 4).unwrap();
    let (orders, consumer) = Mailbox::<u32>::builder("orders", 16)
        .at_least_once(3)
        .dead_letters(poison.sender())
        .build()
        .unwrap();
    let record = Seen::default();
    let router = consumer_doing(consumer, &record, |m, _| match m {
        7 => Step::Fail,
        _ => Step::Ack,
    })
    .with_backoff(plain_backoff(100, 100).with_circuit_breaker(5, Duration::from_secs(60)));
    let letters = Arc::new(Mutex::new(Vec::new()));
    let keeper = {
        let letters = Arc::clone(&letters);
        service_with_inbox(
            "poison_keeper",
            poison_consumer,
            move |_ctx, inbox: &mut Inbox<DeadLetter<u32>>| {
                let letters = Arc::clone(&letters);
                Box::pin(async move {
                    while let Some(letter) = inbox.recv().await {
                        letters.lock().unwrap().push(letter);
                    }
                    Ok::<(), ServiceError>(())
                })
            },
        )
    };
    let tree = start_bot([router, keeper]).await;
    let mut events = tree.subscribe();
    let outbox = orders.sender();
    for order in [6, 7, 8] {
        outbox.send(order).await.unwrap();
    }
    run_for(1_000).await;
    // Delivered exactly three times, then given up on; 8 waited behind it, then went.
    assert_eq!(
        seen(&record),
        [(1, 6, 1), (1, 7, 1), (2, 7, 2), (3, 7, 3), (4, 8, 1)]
    );
    let stats = orders.stats();
    assert_eq!(
        (stats.sent, stats.acked, stats.dead_lettered, stats.in_doubt),
        (3, 2, 1, 0)
    );
    let letters = std::mem::take(&mut *letters.lock().unwrap());
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!((letter.message, letter.deliveries), (7, 3));
    assert_eq!(&*letter.mailbox, "orders");
    assert_eq!(
        letter.reason,
        DeadLetterReason::MaxDeliveries {
            last_failure: Arc::from("bad order 7")
        }
    );
    // Three failures, below the breaker's five: the router still runs.
    let report = tree.shutdown_tree("test", "done").await;
    // The router makes the dead letters: it stops first, then the keeper.
    assert_eq!(
        outcomes(&report),
        [
            ("bot/router", StopOutcome::Graceful),
            ("bot/poison_keeper", StopOutcome::Graceful)
        ]
    );
    // The journal has the dead letter and both drains, each on its consumer.
    let mut mailbox_events = Vec::new();
    while let Ok(event) = events.try_recv() {
        if matches!(
            event.kind,
            EventKind::DeadLettered { .. } | EventKind::MailboxDrained { .. }
        ) {
            mailbox_events.push(event.to_string().split_once("] ").unwrap().1.to_owned());
        }
    }
    assert_eq!(
        mailbox_events,
        [
            "bot/router: dead-lettered 1 of mailbox `orders`: delivered 3 times, never acknowledged; last: bad order 7",
            "bot/router: drained mailbox `orders`",
            "bot/poison_keeper: drained mailbox `poison`",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_nack_puts_the_message_back_first_and_counts_a_delivery() {
    let (orders, consumer) = ack_mailbox(8, 3);
    let record = Seen::default();
    let tree = start_bot([consumer_doing(consumer, &record, |m, d| match (m, d) {
        (1, 1) => Step::Nack,
        (2, _) => Step::Nack,
        (3, _) => Step::Reject,
        _ => Step::Ack,
    })])
    .await;
    let outbox = orders.sender();
    for order in 1..=4 {
        outbox.send(order).await.unwrap();
    }
    run_for(10).await;
    // 2 is nacked for ever: three deliveries, then a dead letter, all in one attempt.
    assert_eq!(
        seen(&record),
        [
            (1, 1, 1),
            (1, 1, 2),
            (1, 2, 1),
            (1, 2, 2),
            (1, 2, 3),
            (1, 3, 1),
            (1, 4, 1)
        ]
    );
    let stats = orders.stats();
    assert_eq!(
        (
            stats.acked,
            stats.rejected,
            stats.dead_lettered,
            stats.redelivered
        ),
        (2, 1, 1, 3)
    );
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn a_delivery_dropped_inside_a_running_attempt_comes_back_in_it() {
    let (orders, consumer) = ack_mailbox(8, 2);
    let record = Seen::default();
    let tree = start_bot([consumer_doing(consumer, &record, |m, _| match m {
        1 => Step::Drop,
        _ => Step::Ack,
    })])
    .await;
    let outbox = orders.sender();
    outbox.send(1).await.unwrap();
    outbox.send(2).await.unwrap();
    run_for(10).await;
    assert_eq!(seen(&record), [(1, 1, 1), (1, 1, 2), (1, 2, 1)]);
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(report.mailboxes[0].dead_lettered, 1);
}

#[tokio::test(start_paused = true)]
async fn a_consumer_ended_for_good_dead_letters_the_message_it_gave_back() {
    let (poison, _poison_consumer) = Mailbox::<DeadLetter<u32>>::bounded("dead", 8).unwrap();
    let (orders, consumer) = Mailbox::<u32>::builder("orders", 8)
        .at_least_once(3)
        .dead_letters(poison.sender())
        .build()
        .unwrap();
    let record = Seen::default();
    let router = consumer_doing(consumer, &record, |m, _| match m {
        1 => Step::Fail,
        _ => Step::Ack,
    })
    .with_restart(RestartPolicy::Never);
    let tree = start_bot([router]).await;
    let mut events = tree.subscribe();
    let outbox = orders.sender();
    outbox.send(1).await.unwrap();
    outbox.send(2).await.unwrap();
    run_for(10).await;
    let dead: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|event| match event.kind {
            EventKind::DeadLettered { count, reason, .. } => Some((count, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        dead,
        [(
            2,
            "its consumer terminated (failed: bad order 1)".to_owned()
        )]
    );
    // 1 was in hand (in doubt: it may have been acted on), 2 never delivered.
    let stats = orders.stats();
    assert_eq!(
        (
            stats.sent,
            stats.delivered,
            stats.dead_lettered,
            stats.in_doubt
        ),
        (2, 1, 2, 0)
    );
    match outbox.send(3).await {
        Err(SendError::Closed {
            message: 3,
            reason: CloseReason::ConsumerTerminated(_),
        }) => {}
        other => panic!("expected Closed with 3, got {other:?}"),
    }
    // The dead letters are queued in the sink (it has no consumer in this tree).
    assert_eq!(poison.len(), 2);
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn a_delivery_held_at_the_shutdown_deadline_is_reported_in_doubt() {
    let (orders, consumer) = ack_mailbox(64, 3);
    let record = Seen::default();
    let router = {
        let record = Arc::clone(&record);
        service_with_inbox("router", consumer, move |ctx, inbox: &mut AckInbox<u32>| {
            let record = Arc::clone(&record);
            Box::pin(async move {
                while let Some(delivery) = inbox.recv().await {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    record
                        .lock()
                        .unwrap()
                        .push((ctx.attempt(), *delivery, delivery.deliveries()));
                    delivery.ack();
                }
                Ok::<(), ServiceError>(())
            })
        })
        .with_shutdown(ShutdownPolicy::Timeout(Duration::from_millis(55)))
    };
    let tree = start_bot([router]).await;
    let outbox = orders.sender();
    for order in 1..=20 {
        outbox.send(order).await.unwrap();
    }
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::Aborted)]);
    assert_eq!(seen(&record).len(), 5);
    // The sixth was in hand when the attempt was aborted: it may have reached the exchange.
    let stats = &report.mailboxes[0];
    assert_eq!(
        (stats.sent, stats.acked, stats.in_doubt, stats.queued),
        (20, 5, 1, 14)
    );
    assert_eq!(stats, &orders.stats());
    // The application keeps them: the one in doubt apart, the rest in order.
    let left = orders.take_undelivered();
    assert_eq!(left.in_doubt, Some(6));
    assert_eq!(left.queued, (7..=20).collect::<Vec<_>>());
    assert!(orders.take_undelivered().is_empty(), "taken once");
}

/// A router as a service fn: `&mut AckInbox<u32>` is lent by the tree for each attempt.
#[service(
    restart = "always",
    backoff(base = "100ms", max = "100ms", jitter = "none")
)]
async fn order_router(
    ctx: TaskContext,
    orders: &mut AckInbox<u32>,
    placed: Seen,
) -> Result<(), ServiceError> {
    while let Some(order) = orders.recv().await {
        let deliveries = order.deliveries();
        placed
            .lock()
            .unwrap()
            .push((ctx.attempt(), *order, deliveries));
        if *order == 3 && deliveries == 1 {
            return Err(ServiceError::from("the exchange hung up"));
        }
        order.ack();
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_service_fn_takes_an_ack_inbox() {
    let (orders, consumer) = ack_mailbox(16, 3);
    let placed = Seen::default();
    let tree = start_bot([order_router::spec(consumer, Arc::clone(&placed))]).await;
    let outbox = orders.sender();
    for order in 1..=4 {
        outbox.send(order).await.unwrap();
    }
    run_for(1_000).await;
    tree.shutdown_tree("test", "done").await;
    assert_eq!(
        seen(&placed),
        [(1, 1, 1), (1, 2, 1), (1, 3, 1), (2, 3, 2), (2, 4, 1)]
    );
}

#[tokio::test(start_paused = true)]
async fn receiving_in_a_select_against_a_timer_loses_nothing() {
    let (orders, consumer) = ack_mailbox(4, 3);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let router = {
        let acked = Arc::clone(&acked);
        service_with_inbox(
            "router",
            consumer,
            move |_ctx, inbox: &mut AckInbox<u32>| {
                let acked = Arc::clone(&acked);
                Box::pin(async move {
                    loop {
                        tokio::select! {
                            delivery = inbox.recv() => match delivery {
                                Some(delivery) => acked.lock().unwrap().push(delivery.ack()),
                                None => return Ok::<(), ServiceError>(()),
                            },
                            () = tokio::time::sleep(Duration::from_micros(1)) => {}
                        }
                    }
                })
            },
        )
    };
    let tree = start_bot([router]).await;
    let outbox = orders.sender();
    for order in 0..2_000 {
        outbox.send(order).await.unwrap();
        if order % 7 == 0 {
            tokio::time::sleep(Duration::from_micros(1)).await;
        }
    }
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(*acked.lock().unwrap(), (0..2_000).collect::<Vec<_>>());
    assert_eq!(report.mailboxes[0].in_doubt, 0);
}

#[tokio::test(start_paused = true)]
async fn an_at_most_once_mailbox_sends_its_dead_letters_to_the_sink_too() {
    let (dead, _dead_consumer) = Mailbox::<DeadLetter<u32>>::bounded("dead", 8).unwrap();
    let (orders, consumer) = Mailbox::<u32>::builder("orders", 8)
        .dead_letters(dead.sender())
        .build()
        .unwrap();
    let ends = service_with_inbox("router", consumer, |_ctx, _inbox: &mut Inbox<u32>| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err::<(), _>(ServiceError::fatal("venue delisted"))
        })
    });
    let tree = start_bot([ends]).await;
    orders.sender().send(1).await.unwrap();
    run_for(200).await;
    assert_eq!((orders.stats().dead_lettered, dead.len()), (1, 1));
    tree.shutdown_tree("test", "done").await;
}

#[test]
fn max_deliveries_must_be_at_least_one() {
    let error = Mailbox::<u32>::builder("orders", 8)
        .at_least_once(0)
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "mailbox `orders`: max_deliveries must be at least 1"
    );
}
