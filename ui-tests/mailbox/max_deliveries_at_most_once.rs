// `max_deliveries` means nothing at most once.
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
        mailbox orders: u32(capacity = 8, max_deliveries = 3),
        router(orders.inbox()),
        strategy(orders.sender()),
    };
}
