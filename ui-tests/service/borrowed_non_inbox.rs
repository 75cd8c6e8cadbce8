// The one borrowed argument is a mailbox's inbox: `&mut` anything else is an error at its type.
use supervisor::{service, TaskContext};

#[service]
async fn feed(ctx: TaskContext, prices: &mut Vec<u64>) {
    let _ = (ctx, prices);
}

fn main() {}
