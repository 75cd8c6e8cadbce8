// An inbox's messages have one type: a consumer of another mailbox is a type error at the
// argument.
use supervisor::mailbox::{Inbox, Mailbox};
use supervisor::{service, TaskContext};

#[service]
async fn router(ctx: TaskContext, orders: &mut Inbox<u32>) {
    let _ = (ctx, orders);
}

fn main() {
    let (_fills, consumer) = Mailbox::<String>::bounded("fills", 8).unwrap();
    let _ = router::spec(consumer);
}
