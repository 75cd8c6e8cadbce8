// A service borrows one inbox: a second is an error at its type.
use supervisor::mailbox::Inbox;
use supervisor::{service, TaskContext};

#[service]
async fn router(ctx: TaskContext, orders: &mut Inbox<u32>, cancels: &mut Inbox<u32>) {
    let _ = (ctx, orders, cancels);
}

fn main() {}
