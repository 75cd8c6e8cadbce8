//! Mailboxes declared in `supervisor!`: made by the tree, consumed by the child given
//! `name.inbox()`, fed by those given `name.sender()`, and ordered at shutdown.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use supervisor::mailbox::{AckInbox, DeadLetter, DeadLetterReason, Inbox, Outbox};
use supervisor::prelude::*;

#[derive(Debug, Clone, PartialEq)]
struct Order {
    id: u32,
    poison: bool,
}

type Log = Arc<Mutex<Vec<String>>>;

/// Sends three orders, then, when stopped, one last (a flush).
#[service(restart = "never")]
async fn strategy(ctx: TaskContext, orders: Outbox<Order>) -> Result<(), ServiceError> {
    for id in 1..=3 {
        let order = Order {
            id,
            poison: id == 2,
        };
        orders
            .send(order)
            .await
            .map_err(|e| ServiceError::from(e.to_string()))?;
    }
    ctx.cancelled().await;
    let last = Order {
        id: 4,
        poison: false,
    };
    orders
        .send(last)
        .await
        .map_err(|e| ServiceError::from(e.to_string()))
}

#[service(
    restart = "always",
    backoff(base = "10ms", max = "10ms", jitter = "none")
)]
async fn order_router(
    ctx: TaskContext,
    orders: &mut AckInbox<Order>,
    log: Log,
) -> Result<(), ServiceError> {
    while let Some(order) = orders.recv().await {
        if order.poison {
            return Err(ServiceError::from(format!("order {} is poison", order.id)));
        }
        let line = format!("placed {} (attempt {})", order.id, ctx.attempt());
        log.lock().unwrap().push(line);
        order.ack();
    }
    Ok(())
}

#[service]
async fn poison_keeper(
    _ctx: TaskContext,
    letters: &mut Inbox<DeadLetter<Order>>,
    log: Log,
) -> Result<(), ServiceError> {
    while let Some(letter) = letters.recv().await {
        let DeadLetterReason::MaxDeliveries { last_failure } = &letter.reason else {
            return Err(ServiceError::from("unexpected dead letter"));
        };
        let line = format!(
            "dead {} after {}: {last_failure}",
            letter.message.id, letter.deliveries
        );
        log.lock().unwrap().push(line);
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_declared_mailbox_carries_orders_and_orders_the_shutdown() {
    let log = Log::default();
    let tree = supervisor! {
        name = "bot",
        mailbox orders: Order(capacity = 16, delivery = "at_least_once", max_deliveries = 2, dead_letters = poison),
        mailbox poison: DeadLetter<Order>(capacity = 8),
        poison_keeper(poison.inbox(), Arc::clone(&log)),
        supervisor execution(strategy = "one_for_one") {
            order_router(orders.inbox(), Arc::clone(&log)),
        },
        strategy(orders.sender()),
    };
    // The strategy sends into `orders`, which `execution` drains, whose dead letters the
    // keeper gets: each stops after those that send to it.
    assert_eq!(
        tree.shutdown_order(),
        ["strategy", "execution", "poison_keeper"]
    );
    let handle = tree.start_with_config(test_config()).await.unwrap();
    run_for(1_000).await;
    let report = handle.shutdown_tree("test", "done").await;
    assert_eq!(
        *log.lock().unwrap(),
        [
            "placed 1 (attempt 1)",
            "placed 3 (attempt 3)",
            "dead 2 after 2: order 2 is poison",
            "placed 4 (attempt 3)",
        ]
    );
    let orders = report
        .mailboxes
        .iter()
        .find(|m| m.name == "orders")
        .unwrap();
    assert_eq!(
        (
            orders.sent,
            orders.acked,
            orders.dead_lettered,
            orders.in_doubt,
            orders.queued
        ),
        (4, 3, 1, 0, 0)
    );
    assert_eq!(orders.max_deliveries, Some(2));
    let poison = report
        .mailboxes
        .iter()
        .find(|m| m.name == "poison")
        .unwrap();
    assert_eq!((poison.sent, poison.delivered), (1, 1));
}

#[service]
async fn audit(_ctx: TaskContext, fills: &mut Inbox<u32>, seen: Log) -> Result<(), ServiceError> {
    while let Some(fill) = fills.recv().await {
        seen.lock().unwrap().push(fill.to_string());
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_external_sender_reaches_the_consumer_without_ordering_it() {
    let seen = Log::default();
    let (outside, wanted) = (Arc::new(Mutex::new(None)), Arc::clone(&seen));
    let tree = supervisor! {
        name = "bot",
        mailbox fills: u32(capacity = 4, drain_on_shutdown = false),
        audit(fills.inbox(), wanted),
        api = {
            *outside.lock().unwrap() = Some(fills.external());
            idle("api")
        },
    };
    assert_eq!(tree.shutdown_order(), ["api", "audit"]);
    let handle = tree.start_with_config(test_config()).await.unwrap();
    let sender: Outbox<u32> = outside.lock().unwrap().take().unwrap();
    sender.send(7).await.unwrap();
    run_for(10).await;
    handle.shutdown_tree("test", "done").await;
    assert_eq!(*seen.lock().unwrap(), ["7"]);
    assert!(sender.try_send(8).is_err());
}

#[test]
fn the_default_breaker_of_a_service_is_the_runtimes() {
    let runtime = BackoffConfig::default()
        .circuit_breaker()
        .unwrap()
        .max_failures;
    assert_eq!(audit::BREAKER_MAX_FAILURES, runtime);
    assert_eq!(strategy::BREAKER_MAX_FAILURES, runtime);
}
