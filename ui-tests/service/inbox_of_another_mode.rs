// A consumer of an at-least-once mailbox takes `&mut AckInbox<T>`: a service taking
// `&mut Inbox<T>` is a type error at the argument, naming the mode.
use supervisor::mailbox::{Inbox, Mailbox};
use supervisor::{service, TaskContext};

#[service]
async fn router(ctx: TaskContext, orders: &mut Inbox<u32>) {
    let _ = (ctx, orders);
}

fn main() {
    let (_orders, consumer) = Mailbox::<u32>::builder("orders", 8)
        .at_least_once(3)
        .build()
        .unwrap();
    let _ = router::spec(consumer);
}
