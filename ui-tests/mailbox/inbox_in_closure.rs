// A closure child makes each attempt anew: it cannot be the consumer.
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
        mailbox orders: u32(capacity = 8),
        router = |ctx: TaskContext| async move { let _ = (ctx, orders.inbox()); },
        strategy(orders.sender()),
    };
}
