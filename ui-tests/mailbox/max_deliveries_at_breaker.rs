// A poison message would trip the consumer's breaker (3 failures) before its third delivery
// made it a dead letter.
use supervisor::mailbox::{AckInbox, Inbox, Outbox};
use supervisor::prelude::*;

#[service]
async fn strategy(ctx: TaskContext, orders: Outbox<u32>) {
    let _ = (ctx, orders);
}

#[service]
async fn router(ctx: TaskContext, orders: &mut Inbox<u32>) {
    let _ = (ctx, orders);
}

#[service(circuit_breaker(max_failures = 3, within = "60s"))]
async fn acking_router(ctx: TaskContext, orders: &mut AckInbox<u32>) {
    let _ = (ctx, orders);
}

fn main() {
    let _ = supervisor! {
        name = "bot",
        mailbox orders: u32(capacity = 8, delivery = "at_least_once", max_deliveries = 3),
        acking_router(orders.inbox()),
        strategy(orders.sender()),
    };
}
