//! Mailboxes owned by the tree: what is queued survives the consumer's restarts, senders get
//! their message back when it cannot go through, and nothing is dropped silently.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use supervisor::error::SpecError;
use supervisor::mailbox::{
    CloseReason, Consumer, ConsumerState, Inbox, Mailbox, SendError, SendTimeoutError,
    TrySendError, service_with_inbox,
};
use supervisor::prelude::*;

/// What the consumer received, as (attempt, message).
type Received = Arc<Mutex<Vec<(u32, u32)>>>;

/// A consumer that records each message with its attempt, and ends its attempt as `on`
/// says for some messages: an error, or a panic.
fn recording(consumer: Consumer<u32>, received: &Received, on: fn(u32) -> Ending) -> ChildSpec {
    let received = Arc::clone(received);
    service_with_inbox("router", consumer, move |ctx, inbox: &mut Inbox<u32>| {
        let received = Arc::clone(&received);
        Box::pin(async move {
            loop {
                let message = tokio::select! {
                    _ = ctx.cancelled() => return Ok(()),
                    message = inbox.recv() => message,
                };
                let Some(message) = message else {
                    return Ok(());
                };
                received.lock().unwrap().push((ctx.attempt(), message));
                match on(message) {
                    Ending::Goes => {}
                    Ending::Fails => return Err(ServiceError::from("the exchange hung up")),
                    Ending::Panics => panic!("bad order {message}"),
                }
            }
        })
    })
    .with_backoff(plain_backoff(100, 100))
}

#[derive(Clone, Copy)]
enum Ending {
    Goes,
    Fails,
    Panics,
}

fn taken(received: &Received) -> Vec<(u32, u32)> {
    received.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn queued_messages_wait_in_order_for_the_next_attempt() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 16).unwrap();
    let received = Received::default();
    let tree = start_bot([recording(consumer, &received, |m| match m {
        2 => Ending::Fails,
        4 => Ending::Panics,
        _ => Ending::Goes,
    })])
    .await;
    let outbox = orders.sender();
    for order in 1..=6 {
        outbox.send(order).await.unwrap();
    }
    run_for(1_000).await;
    // 2 and 4 were in hand when their attempts ended (at most once); the rest waited.
    assert_eq!(
        taken(&received),
        [(1, 1), (1, 2), (2, 3), (2, 4), (3, 5), (3, 6)]
    );
    let stats = orders.stats();
    assert_eq!((stats.sent, stats.delivered, stats.queued), (6, 6, 0));
    assert_eq!(stats.dead_lettered, 0);
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn senders_wait_while_the_consumer_backs_off_and_try_send_fails_fast() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 2).unwrap();
    let received = Received::default();
    let tree = start_bot([recording(consumer, &received, |m| match m {
        1 => Ending::Fails,
        _ => Ending::Goes,
    })])
    .await;
    let outbox = orders.sender();
    outbox.send(1).await.unwrap();
    run_for(10).await;
    // Backing off for 100 ms: two fit, the third waits, `try_send` gives it back.
    outbox.send(2).await.unwrap();
    outbox.send(3).await.unwrap();
    assert_eq!(orders.len(), 2);
    match outbox.try_send(4) {
        Err(TrySendError::Full(4)) => {}
        other => panic!("expected Full(4), got {other:?}"),
    }
    let waiting = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.send(4).await }
    });
    run_for(50).await;
    assert!(!waiting.is_finished(), "it waits for room");
    match outbox.send_timeout(5, Duration::from_millis(10)).await {
        Err(SendTimeoutError::Timeout(5)) => {}
        other => panic!("expected Timeout(5), got {other:?}"),
    }
    run_for(100).await;
    assert!(
        waiting.is_finished(),
        "room came, but the sender still waits"
    );
    waiting.await.unwrap().unwrap();
    assert_eq!(taken(&received), [(1, 1), (2, 2), (2, 3), (2, 4)]);
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn senders_see_whether_the_consumer_runs_backs_off_or_is_closed() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 4).unwrap();
    let outbox = orders.sender();
    assert_eq!(
        outbox.consumer_state(),
        ConsumerState::Waiting,
        "not started"
    );
    let received = Received::default();
    let tree = start_bot([recording(consumer, &received, |m| match m {
        1 => Ending::Fails,
        _ => Ending::Goes,
    })])
    .await;
    run_for(1).await;
    assert_eq!(outbox.consumer_state(), ConsumerState::Running);
    outbox.send(1).await.unwrap();
    run_for(10).await;
    assert_eq!(
        outbox.consumer_state(),
        ConsumerState::Waiting,
        "backing off"
    );
    run_for(100).await;
    assert_eq!(outbox.consumer_state(), ConsumerState::Running, "restarted");
    tree.shutdown_tree("test", "done").await;
    assert_eq!(
        outbox.consumer_state(),
        ConsumerState::Closed(CloseReason::Shutdown)
    );
}

#[tokio::test(start_paused = true)]
async fn a_producer_cancelled_while_waiting_gets_its_message_back() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 1).unwrap();
    // A consumer that never receives.
    let stuck = service_with_inbox("router", consumer, |ctx, _inbox: &mut Inbox<u32>| {
        Box::pin(async move { ctx.cancelled().await })
    });
    let tree = start_bot([stuck]).await;
    let outbox = orders.sender();
    outbox.send(1).await.unwrap();
    let ctx = TaskContext::detached("strategy");
    let stop = ctx.cancellation_token().clone();
    let sending = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.send_with(&ctx, 2).await }
    });
    run_for(10).await;
    stop.cancel();
    run_for(1).await;
    assert!(sending.is_finished(), "the cancelled sender still waits");
    match sending.await.unwrap() {
        Err(SendError::Cancelled(2)) => {}
        other => panic!("expected Cancelled(2), got {other:?}"),
    }
    assert_eq!(orders.stats().sent, 1);
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn a_consumer_ended_for_good_refuses_sends_and_dead_letters_its_queue() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 4).unwrap();
    let received = Received::default();
    let router = recording(consumer, &received, |m| match m {
        1 => Ending::Fails,
        _ => Ending::Goes,
    })
    .with_restart(RestartPolicy::Never);
    let tree = start_bot([router]).await;
    let outbox = orders.sender();
    outbox.send(1).await.unwrap();
    outbox.send(2).await.unwrap();
    outbox.send(3).await.unwrap();
    run_for(10).await;
    let stats = orders.stats();
    assert_eq!(
        (
            stats.sent,
            stats.delivered,
            stats.dead_lettered,
            stats.queued
        ),
        (3, 1, 2, 0)
    );
    match outbox.send(4).await {
        Err(SendError::Closed {
            message: 4,
            reason: CloseReason::ConsumerTerminated(reason),
        }) => assert_eq!(reason.to_string(), "failed: the exchange hung up"),
        other => panic!("expected Closed with 4, got {other:?}"),
    }
    assert!(matches!(
        outbox.consumer_state(),
        ConsumerState::Closed(CloseReason::ConsumerTerminated(_))
    ));
    // Started again by an operator: new messages are taken, the dead ones are not delivered.
    tree.restart_child("bot/router", "test", "back")
        .await
        .unwrap();
    run_for(10).await;
    assert_eq!(outbox.consumer_state(), ConsumerState::Running, "revived");
    outbox.send(5).await.unwrap();
    run_for(10).await;
    assert_eq!(taken(&received), [(1, 1), (2, 5)]);
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn a_sender_waiting_on_a_full_mailbox_is_refused_when_the_consumer_ends() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 1).unwrap();
    let ends = service_with_inbox("router", consumer, |_ctx, _inbox: &mut Inbox<u32>| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err::<(), _>(ServiceError::fatal("venue delisted"))
        })
    });
    let tree = start_bot([ends]).await;
    let outbox = orders.sender();
    outbox.send(1).await.unwrap();
    let waiting = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.send(2).await }
    });
    run_for(200).await;
    assert!(waiting.is_finished(), "the waiting sender was not woken");
    match waiting.await.unwrap() {
        Err(SendError::Closed { message: 2, .. }) => {}
        other => panic!("expected Closed with 2, got {other:?}"),
    }
    assert_eq!(orders.stats().dead_lettered, 1);
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn an_aborted_attempt_gives_the_inbox_back() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    let received = Received::default();
    let router = recording(consumer, &received, |_| Ending::Goes);
    let tree = start_bot([router]).await;
    let outbox = orders.sender();
    outbox.send(1).await.unwrap();
    run_for(10).await;
    // An operator's restart stops the attempt; then the inbox is the next one's.
    tree.restart_child("bot/router", "test", "kick")
        .await
        .unwrap();
    outbox.send(2).await.unwrap();
    run_for(10).await;
    assert_eq!(taken(&received), [(1, 1), (2, 2)]);
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn receiving_in_a_select_against_a_timer_loses_nothing() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 64).unwrap();
    let received = Received::default();
    let kept = Arc::clone(&received);
    let router = service_with_inbox("router", consumer, move |ctx, inbox: &mut Inbox<u32>| {
        let kept = Arc::clone(&kept);
        Box::pin(async move {
            loop {
                tokio::select! {
                    _ = ctx.cancelled() => return,
                    message = inbox.recv() => {
                        if let Some(message) = message {
                            kept.lock().unwrap().push((ctx.attempt(), message));
                        }
                    }
                    // Often first: the receive is dropped half way each time.
                    _ = tokio::time::sleep(Duration::from_micros(1)) => {}
                }
            }
        })
    });
    let tree = start_bot([router]).await;
    let outbox = orders.sender();
    for order in 0..10_000 {
        outbox.send(order).await.unwrap();
        if order % 7 == 0 {
            tokio::task::yield_now().await;
        }
    }
    run_for(100).await;
    let got: Vec<u32> = taken(&received).into_iter().map(|(_, m)| m).collect();
    assert_eq!(got, (0..10_000).collect::<Vec<_>>());
    tree.shutdown_tree("test", "done").await;
}

#[test]
fn a_mailbox_needs_a_name_and_a_capacity_of_at_least_one() {
    for (name, capacity, problem) in [
        ("orders", 0, "its capacity must be at least 1"),
        ("", 8, "a mailbox needs a name"),
    ] {
        match Mailbox::<u32>::bounded(name, capacity) {
            Err(SpecError::InvalidMailbox { problem: p, .. }) => assert_eq!(p, problem),
            other => panic!("expected InvalidMailbox, got {other:?}"),
        }
    }
}

#[test]
fn a_consumer_spec_cloned_into_two_children_is_refused() {
    let (_orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    let router = service_with_inbox("router", consumer, |ctx, _inbox: &mut Inbox<u32>| {
        Box::pin(async move { ctx.cancelled().await })
    });
    let error = SupervisorSpec::builder("bot")
        .child(router.clone())
        .nested(
            SupervisorSpec::builder("execution").child(router.with_name("shadow")),
            |execution| execution,
        )
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "mailbox `orders` is consumed by both `bot/execution/shadow` and `bot/router`; a mailbox has one consumer"
    );
}

/// A consumer that takes 10 ms per message and knows nothing of cancellation.
fn slow(consumer: Consumer<u32>, received: &Received) -> ChildSpec {
    let received = Arc::clone(received);
    service_with_inbox("router", consumer, move |ctx, inbox: &mut Inbox<u32>| {
        let received = Arc::clone(&received);
        Box::pin(async move {
            while let Some(message) = inbox.recv().await {
                tokio::time::sleep(Duration::from_millis(10)).await;
                received.lock().unwrap().push((ctx.attempt(), message));
            }
        })
    })
}

#[tokio::test(start_paused = true)]
async fn at_shutdown_the_consumer_drains_its_mailbox_then_stops() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 64).unwrap();
    let received = Received::default();
    let tree = start_bot([slow(consumer, &received)]).await;
    let outbox = orders.sender();
    for order in 1..=20 {
        outbox.send(order).await.unwrap();
    }
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::Graceful)]);
    assert_eq!(report.duration, Duration::from_millis(200));
    let got: Vec<u32> = taken(&received).into_iter().map(|(_, m)| m).collect();
    assert_eq!(got, (1..=20).collect::<Vec<_>>());
    match outbox.try_send(21) {
        Err(TrySendError::Closed {
            message: 21,
            reason: CloseReason::Shutdown,
        }) => {}
        other => panic!("expected Closed(Shutdown) with 21, got {other:?}"),
    }
    let stats = orders.stats();
    assert_eq!((stats.sent, stats.delivered, stats.queued), (20, 20, 0));
    assert_eq!(report.mailboxes, [stats]);
    assert_eq!(
        report.to_string(),
        "shutdown in 200ms: 1 graceful, 0 aborted, 0 detached, 0 not running; \
         orders: 20 sent, 20 delivered, 0 dead-lettered, 0/64 queued"
    );
}

#[tokio::test(start_paused = true)]
async fn a_drain_longer_than_the_shutdown_timeout_is_aborted_and_the_rest_counted() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 64).unwrap();
    let received = Received::default();
    let router =
        slow(consumer, &received).with_shutdown(ShutdownPolicy::Timeout(Duration::from_millis(55)));
    let tree = start_bot([router]).await;
    let outbox = orders.sender();
    for order in 1..=20 {
        outbox.send(order).await.unwrap();
    }
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::Aborted)]);
    // Five processed; the sixth was in hand (received, not finished) when it was aborted.
    assert_eq!(taken(&received).len(), 5);
    let stats = orders.stats();
    assert_eq!((stats.sent, stats.delivered, stats.queued), (20, 6, 14));
    assert_eq!(report.mailboxes, [stats]);
    let left = orders.take_undelivered();
    assert_eq!(left.in_doubt, None, "at most once, nothing is in doubt");
    assert_eq!(left.queued, (7..=20).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn a_mailbox_that_opts_out_of_the_drain_has_its_consumer_cancelled_at_once() {
    let (orders, consumer) = Mailbox::<u32>::builder("orders", 64)
        .drain_on_shutdown(false)
        .build()
        .unwrap();
    let received = Received::default();
    // 10 ms per message, and it returns as soon as it is cancelled.
    let router = {
        let received = Arc::clone(&received);
        service_with_inbox("router", consumer, move |ctx, inbox: &mut Inbox<u32>| {
            let received = Arc::clone(&received);
            Box::pin(async move {
                while let Some(order) = inbox.recv().await {
                    tokio::select! {
                        _ = ctx.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                    }
                    received.lock().unwrap().push((ctx.attempt(), order));
                }
                Ok::<(), ServiceError>(())
            })
        })
    };
    let tree = start_bot([router]).await;
    let outbox = orders.sender();
    let started = tokio::time::Instant::now();
    for order in 1..=20 {
        outbox.try_send(order).unwrap();
    }
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::Graceful)]);
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "no drain waited for"
    );
    let stats = orders.stats();
    // The one in hand when it was cancelled was received (at most once), not processed.
    assert!(taken(&received).is_empty(), "{:?}", taken(&received));
    assert_eq!(stats.delivered + stats.queued, 20);
    assert!(
        stats.queued > 0,
        "cancelled before the queue was drained: {stats}"
    );
    let left = orders.take_undelivered();
    assert_eq!(left.queued.len() as u64, stats.queued);
    match outbox.try_send(21) {
        Err(TrySendError::Closed {
            reason: CloseReason::Shutdown,
            ..
        }) => {}
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn nothing_is_taken_out_while_the_tree_runs() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    // A consumer that never receives: the orders stay queued.
    let stuck = service_with_inbox("router", consumer, |ctx, _inbox: &mut Inbox<u32>| {
        Box::pin(async move { ctx.cancelled().await })
    });
    let tree = start_bot([stuck]).await;
    orders.sender().send(1).await.unwrap();
    assert!(orders.take_undelivered().is_empty());
    assert_eq!(orders.len(), 1, "still queued");
    tree.shutdown_tree("test", "done").await;
}

/// A consumer taking batches of at most three; records each batch, and whether the
/// cancellation cut one short.
fn batching(consumer: Consumer<u32>, batches: &Arc<Mutex<Vec<Vec<u32>>>>) -> ChildSpec {
    let batches = Arc::clone(batches);
    service_with_inbox("router", consumer, move |ctx, inbox: &mut Inbox<u32>| {
        let batches = Arc::clone(&batches);
        Box::pin(async move {
            assert_eq!(inbox.recv_many(&mut Vec::new(), 0).await, 0, "a limit of 0");
            let mut batch = Vec::new();
            while inbox.recv_many(&mut batch, 3).await > 0 {
                tokio::select! {
                    _ = ctx.cancelled() => batch.push(u32::MAX),
                    _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
                batches.lock().unwrap().push(std::mem::take(&mut batch));
            }
            Ok::<(), ServiceError>(())
        })
    })
}

#[tokio::test(start_paused = true)]
async fn recv_many_takes_what_is_queued_up_to_its_limit_and_the_drain_ends_after_the_last_batch() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 16).unwrap();
    let outbox = orders.sender();
    for order in 1..=7 {
        outbox.try_send(order).unwrap();
    }
    let batches = Arc::new(Mutex::new(Vec::new()));
    let tree = start_bot([batching(consumer, &batches)]).await;
    run_for(100).await;
    assert_eq!(
        *batches.lock().unwrap(),
        [vec![1, 2, 3], vec![4, 5, 6], vec![7]]
    );
    for order in 8..=12 {
        outbox.send(order).await.unwrap();
    }
    // Queued at shutdown: drained in batches, each handled before the token is cancelled.
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::Graceful)]);
    let batches = batches.lock().unwrap();
    assert_eq!(batches.concat(), (1..=12).collect::<Vec<_>>());
    assert!(batches.iter().all(|batch| batch.len() <= 3));
    let stats = orders.stats();
    assert_eq!((stats.sent, stats.delivered, stats.queued), (12, 12, 0));
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_selects_on_its_cancellation_still_drains_at_shutdown() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 64).unwrap();
    let received = Received::default();
    let tree = start_bot([recording(consumer, &received, |_| Ending::Goes)]).await;
    let outbox = orders.sender();
    for order in 1..=5 {
        outbox.send(order).await.unwrap();
    }
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::Graceful)]);
    assert_eq!(taken(&received).len(), 5);
}

/// A consumer with other waits than its inbox: once `recv` has returned `None` at shutdown,
/// its token is cancelled, so it waits no longer. Fails on `fail_on` (with a long backoff);
/// records each message, and whether its token was cancelled when the inbox ran dry.
fn waiting_after_the_drain(
    consumer: Consumer<u32>,
    received: &Received,
    fail_on: u32,
    cancelled_at_end: &Arc<Mutex<Vec<bool>>>,
) -> ChildSpec {
    let (received, cancelled_at_end) = (Arc::clone(received), Arc::clone(cancelled_at_end));
    service_with_inbox("router", consumer, move |ctx, inbox: &mut Inbox<u32>| {
        let (received, cancelled_at_end) = (Arc::clone(&received), Arc::clone(&cancelled_at_end));
        Box::pin(async move {
            while let Some(message) = inbox.recv().await {
                received.lock().unwrap().push((ctx.attempt(), message));
                if message == fail_on {
                    return Err(ServiceError::from("the exchange hung up"));
                }
            }
            cancelled_at_end.lock().unwrap().push(ctx.is_cancelled());
            ctx.cancelled().await;
            Ok(())
        })
    })
    .with_backoff(plain_backoff(10_000, 10_000))
    .with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(30)))
}

#[tokio::test(start_paused = true)]
async fn once_drained_at_shutdown_the_consumers_token_is_cancelled() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    let (received, cancelled) = (Received::default(), Arc::default());
    let tree = start_bot([waiting_after_the_drain(consumer, &received, 0, &cancelled)]).await;
    let outbox = orders.sender();
    for order in 1..=3 {
        outbox.send(order).await.unwrap();
    }
    let report = tree.shutdown_tree("test", "done").await;
    // Not the 30 s of its shutdown timeout: at once.
    assert_eq!(report.duration, Duration::ZERO);
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::Graceful)]);
    assert_eq!(taken(&received), [(1, 1), (1, 2), (1, 3)]);
    assert_eq!(*cancelled.lock().unwrap(), [true]);
}

#[tokio::test(start_paused = true)]
async fn the_attempt_started_to_drain_at_shutdown_is_cancelled_once_drained() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    let (received, cancelled) = (Received::default(), Arc::default());
    let tree = start_bot([waiting_after_the_drain(consumer, &received, 1, &cancelled)]).await;
    let outbox = orders.sender();
    for order in 1..=3 {
        outbox.send(order).await.unwrap();
    }
    run_for(10).await;
    // The first attempt failed on 1 and backs off for ten seconds.
    assert_eq!(taken(&received), [(1, 1)]);
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(report.duration, Duration::ZERO);
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::Graceful)]);
    assert_eq!(taken(&received), [(1, 1), (2, 2), (2, 3)]);
    assert_eq!(*cancelled.lock().unwrap(), [true]);
}

#[tokio::test(start_paused = true)]
async fn a_restart_of_the_consumers_supervisor_keeps_the_queue_open() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 64).unwrap();
    let received = Received::default();
    let spec = SupervisorSpec::builder("bot")
        .nested(
            SupervisorSpec::builder("execution")
                .child(recording(consumer, &received, |_| Ending::Goes)),
            |execution| execution.with_backoff(plain_backoff(100, 100)),
        )
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    let outbox = orders.sender();
    for order in 1..=3 {
        outbox.send(order).await.unwrap();
    }
    run_for(10).await;
    tree.restart_child("bot/execution", "test", "kick")
        .await
        .unwrap();
    // Sent while the subtree restarts: queued for its next run, not refused.
    for order in 4..=6 {
        outbox.send(order).await.unwrap();
    }
    run_for(1_000).await;
    let got: Vec<u32> = taken(&received).into_iter().map(|(_, m)| m).collect();
    assert_eq!(got, [1, 2, 3, 4, 5, 6]);
    let state = tree.current_state().await;
    assert_eq!(state.find("bot/execution").unwrap().attempt, 2);
    tree.shutdown_tree("test", "done").await;
}

/// Order ids of one venue, and where the router reports what it placed.
#[service(
    restart = "always",
    backoff(base = "100ms", max = "100ms", jitter = "none")
)]
async fn order_router(
    ctx: TaskContext,
    orders: &mut Inbox<u32>,
    venue: &'static str,
    placed: Received,
) -> Result<(), ServiceError> {
    while let Some(order) = orders.recv().await {
        if order == 3 && ctx.attempt() == 1 {
            return Err(ServiceError::from(format!("{venue} hung up")));
        }
        placed.lock().unwrap().push((ctx.attempt(), order));
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_service_fn_borrows_its_inbox_for_each_attempt() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 16).unwrap();
    let placed = Received::default();
    let tree = start_bot([order_router::spec(consumer, "binance", Arc::clone(&placed))]).await;
    let outbox = orders.sender();
    for order in 1..=5 {
        outbox.send(order).await.unwrap();
    }
    run_for(1_000).await;
    let report = tree.shutdown_tree("test", "done").await;
    // 3 was in hand when the first attempt failed; the rest waited for the second.
    assert_eq!(taken(&placed), [(1, 1), (1, 2), (2, 4), (2, 5)]);
    assert_eq!(
        outcomes(&report),
        [("bot/order_router", StopOutcome::Graceful)]
    );
}

#[tokio::test(start_paused = true)]
async fn the_report_lists_the_mailboxes_of_children_added_at_run_time() {
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(1)
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    let (fills, consumer) = Mailbox::<u32>::bounded("fills", 8).unwrap();
    let received = Received::default();
    tree.add_child("bot", slow(consumer, &received), "test", "added")
        .await
        .unwrap();
    fills.sender().send(7).await.unwrap();
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(report.mailboxes.len(), 1);
    let stats = &report.mailboxes[0];
    assert_eq!(
        (stats.name.as_str(), stats.sent, stats.delivered),
        ("fills", 1, 1)
    );
}

/// Adds a clone of `consumer` to the root as `shadow`, which must be refused: the error.
async fn add_shadow(tree: &SupervisorHandle, consumer: ChildSpec) -> String {
    let added = tree.add_child("bot", consumer.with_name("shadow"), "test", "again");
    added.await.unwrap_err().to_string()
}

#[tokio::test(start_paused = true)]
async fn a_consumer_added_twice_at_run_time_is_refused() {
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(2)
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    let (_fills, consumer) = Mailbox::<u32>::bounded("fills", 8).unwrap();
    let received = Received::default();
    let router = slow(consumer, &received);
    tree.add_child("bot", router.clone(), "test", "added")
        .await
        .unwrap();
    assert_eq!(
        add_shadow(&tree, router).await,
        "the new child is invalid: mailbox `fills` is consumed by both `bot/router` and `bot/shadow`; a mailbox has one consumer"
    );
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn a_consumer_cloned_into_another_supervisor_at_run_time_is_refused() {
    let (_fills, consumer) = Mailbox::<u32>::bounded("fills", 8).unwrap();
    let received = Received::default();
    let router = slow(consumer, &received);
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(2)
        .nested(
            SupervisorSpec::builder("execution").child(router.clone()),
            |execution| execution,
        )
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    assert_eq!(
        add_shadow(&tree, router).await,
        "the new child is invalid: mailbox `fills` is consumed by both `bot/execution/router` and `bot/shadow`; a mailbox has one consumer"
    );
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn a_consumer_cloned_into_a_second_tree_is_refused_the_inbox_and_leaves_it_open() {
    let (fills, consumer) = Mailbox::<u32>::bounded("fills", 8).unwrap();
    let received = Received::default();
    let router = slow(consumer, &received);
    let first = start_bot([router.clone()]).await;
    let second = Supervisor::start_with_config(
        SupervisorSpec::builder("shadow")
            .child(router.with_restart(RestartPolicy::Never))
            .build()
            .unwrap(),
        test_config(),
    )
    .await
    .unwrap();
    run_for(10).await;
    let states = second.current_state().await;
    let state = states.find("shadow/router").expect("listed");
    assert_eq!(state.phase, ServicePhase::Terminated);
    assert_eq!(
        state
            .last_failure
            .as_deref()
            .expect("its attempt was refused"),
        "mailbox `fills` is consumed by `bot/router`: a mailbox has exactly one consumer child"
    );
    // Ending for good, the clone closed nothing: the consumer still receives.
    fills.sender().send(7).await.unwrap();
    run_for(20).await;
    assert_eq!(taken(&received), [(1, 7)]);
    second.shutdown_tree("test", "done").await;
    fills.sender().send(8).await.unwrap();
    run_for(20).await;
    assert_eq!(taken(&received), [(1, 7), (1, 8)]);
    first.shutdown_tree("test", "done").await;
}

/// A strategy that sends one last order when it is stopped, as a flush would.
fn flushing_strategy(orders: &Mailbox<u32>) -> ChildSpec {
    let outbox = orders.sender();
    service_fn("strategy", move |ctx| {
        let outbox = outbox.clone();
        async move {
            outbox
                .send(1)
                .await
                .map_err(|e| ServiceError::from(e.to_string()))?;
            ctx.cancelled().await;
            outbox
                .send(2)
                .await
                .map_err(|e| ServiceError::from(e.to_string()))
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_declared_producer_stops_before_the_consumer_which_gets_its_last_message() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    let received = Received::default();
    let spec = SupervisorSpec::builder("bot")
        // Started first: without `produces`, both would stop at once.
        .child(flushing_strategy(&orders).produces(&orders))
        .child(slow(consumer, &received))
        .build()
        .unwrap();
    assert_eq!(spec.shutdown_order(), ["strategy", "router"]);
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    run_for(100).await;
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(
        outcomes(&report),
        [
            ("bot/strategy", StopOutcome::Graceful),
            ("bot/router", StopOutcome::Graceful)
        ]
    );
    let got: Vec<u32> = taken(&received).into_iter().map(|(_, m)| m).collect();
    assert_eq!(got, [1, 2]);
    assert_eq!(report.mailboxes[0].sent, 2);
}

#[tokio::test(start_paused = true)]
async fn an_undeclared_producer_stopped_with_the_consumer_is_refused_with_its_message() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    let received = Received::default();
    let refused = Arc::new(Mutex::new(None));
    let strategy = {
        let (outbox, refused) = (orders.sender(), Arc::clone(&refused));
        service_fn("strategy", move |ctx| {
            let (outbox, refused) = (outbox.clone(), Arc::clone(&refused));
            async move {
                ctx.cancelled().await;
                // The consumer's mailbox closed as the shutdown began: refused, given back.
                tokio::time::sleep(Duration::from_millis(1)).await;
                if let Err(error) = outbox.send(2).await {
                    *refused.lock().unwrap() = Some(error);
                }
            }
        })
    };
    let spec = SupervisorSpec::builder("bot")
        .child(strategy)
        .child(slow(consumer, &received))
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    run_for(10).await;
    tree.shutdown_tree("test", "done").await;
    match refused.lock().unwrap().take() {
        Some(SendError::Closed {
            message: 2,
            reason: CloseReason::Shutdown,
        }) => {}
        other => panic!("expected Closed(Shutdown) with 2, got {other:?}"),
    }
}

#[test]
fn a_consumer_that_depends_on_its_producer_is_a_shutdown_order_cycle() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    let received = Received::default();
    let error = SupervisorSpec::builder("bot")
        .child(flushing_strategy(&orders).produces(&orders))
        .child(slow(consumer, &received).after(["strategy"]))
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "shutdown order cycle in `bot`: `strategy` stops after `router` (depends on it), \
         `router` stops after `strategy` (sends into its mailbox); drop one `after`/`requires`, \
         or send from one side through an `Outbox` not declared with `produces`"
    );
}

#[test]
fn a_producer_inside_a_nested_supervisor_orders_its_supervisor() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    let received = Received::default();
    let strategies = SupervisorSpec::builder("strategies")
        .child(flushing_strategy(&orders).produces(&orders))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        .child(ChildSpec::supervisor(strategies))
        .child(slow(consumer, &received))
        .child(idle("audit"))
        .build()
        .unwrap();
    assert_eq!(spec.shutdown_order(), ["audit", "strategies", "router"]);
}

/// A consumer that fails on message 1 and then backs off for ten seconds.
fn failing_on_first(consumer: Consumer<u32>, received: &Received) -> ChildSpec {
    recording(consumer, received, |m| match m {
        1 => Ending::Fails,
        _ => Ending::Goes,
    })
    .with_backoff(plain_backoff(10_000, 10_000))
}

#[tokio::test(start_paused = true)]
async fn a_consumer_backing_off_at_shutdown_gets_one_attempt_to_drain() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    let received = Received::default();
    let tree = start_bot([failing_on_first(consumer, &received)]).await;
    let outbox = orders.sender();
    for order in 1..=4 {
        outbox.send(order).await.unwrap();
    }
    run_for(10).await;
    assert_eq!(taken(&received), [(1, 1)]);
    let report = tree.shutdown_tree("test", "done").await;
    // Not ten seconds later: at once, the second attempt drains 2 to 4.
    assert_eq!(report.duration, Duration::ZERO);
    assert_eq!(taken(&received), [(1, 1), (2, 2), (2, 3), (2, 4)]);
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::Graceful)]);
    assert_eq!(
        (report.mailboxes[0].delivered, report.mailboxes[0].queued),
        (4, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_mailbox_may_leave_a_backing_off_consumer_undrained() {
    let (orders, consumer) = Mailbox::<u32>::builder("orders", 8)
        .drain_on_shutdown(false)
        .build()
        .unwrap();
    let received = Received::default();
    let tree = start_bot([failing_on_first(consumer, &received)]).await;
    let outbox = orders.sender();
    for order in 1..=4 {
        outbox.send(order).await.unwrap();
    }
    run_for(10).await;
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(taken(&received), [(1, 1)]);
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::NotRunning)]);
    assert_eq!(
        (report.mailboxes[0].delivered, report.mailboxes[0].queued),
        (1, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn an_empty_mailbox_does_not_start_its_backing_off_consumer() {
    let (orders, consumer) = Mailbox::<u32>::bounded("orders", 8).unwrap();
    let received = Received::default();
    let tree = start_bot([failing_on_first(consumer, &received)]).await;
    orders.sender().send(1).await.unwrap();
    run_for(10).await;
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(outcomes(&report), [("bot/router", StopOutcome::NotRunning)]);
    assert_eq!(taken(&received), [(1, 1)]);
}
