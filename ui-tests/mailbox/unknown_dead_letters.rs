// `dead_letters` names a declared mailbox.
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
        mailbox orders: u32(capacity = 8, dead_letters = poisson),
        mailbox poison: supervisor::mailbox::DeadLetter<u32>(capacity = 8),
        router(orders.inbox()),
        strategy(orders.sender()),
        keeper = supervisor::mailbox::service_with_inbox(
            "keeper",
            poison.inbox(),
            |_ctx, inbox: &mut Inbox<supervisor::mailbox::DeadLetter<u32>>| {
                Box::pin(async move { while inbox.recv().await.is_some() {} })
            },
        ),
    };
}
