// A pool that could never hold a child.
use supervisor::prelude::*;

#[service]
async fn fill(ctx: TaskContext, order: u64) {
    let _ = order;
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", pool fills(max = 0) = fill };
}
