// Two mailboxes in a nested tree: at least once with a dead-letter mailbox, consumed and fed
// across supervisors.
use supervisor::mailbox::{AckInbox, DeadLetter, Inbox, Outbox};
use supervisor::prelude::*;

#[service]
async fn strategy(ctx: TaskContext, orders: Outbox<(u32, String)>) {
    let _ = (ctx, orders);
}

#[service(circuit_breaker(max_failures = 5, within = "60s"))]
async fn order_router(ctx: TaskContext, orders: &mut AckInbox<(u32, String)>) {
    let _ = (ctx, orders);
}

#[service]
async fn poison_keeper(ctx: TaskContext, letters: &mut Inbox<DeadLetter<(u32, String)>>) {
    let _ = (ctx, letters);
}

fn main() {
    let tree = supervisor! {
        name = "bot",
        mailbox orders: (u32, String)(capacity = 1024, delivery = "at_least_once", max_deliveries = 3, dead_letters = poison),
        mailbox poison: DeadLetter<(u32, String)>(capacity = 64, drain_on_shutdown = false),
        poison_keeper(poison.inbox()),
        supervisor execution(strategy = "rest_for_one") {
            order_router(orders.inbox()),
        },
        supervisor strategies() {
            strategy(orders.sender()),
            shadow: strategy(orders.sender()),
        },
    };
    assert_eq!(
        tree.shutdown_order(),
        ["strategies", "execution", "poison_keeper"]
    );
    assert!(tree.spec().is_ok());
}
