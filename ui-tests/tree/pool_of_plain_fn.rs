// A pool of a plain async fn (without #[service]).
use supervisor::prelude::*;

async fn fill(ctx: TaskContext, order: u64) {
    let _ = order;
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", pool fills(max = 8) = fill };
}
