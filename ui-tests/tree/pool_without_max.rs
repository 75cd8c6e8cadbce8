// A pool without `max`.
use supervisor::prelude::*;

#[service]
async fn fill(ctx: TaskContext, order: u64) {
    let _ = order;
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", pool fills = fill };
}
