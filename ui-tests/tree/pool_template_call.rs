// A pool's template written as a call: the arguments come with each `start_child`.
use supervisor::prelude::*;

#[service]
async fn fill(ctx: TaskContext, order: u64) {
    let _ = order;
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", pool fills(max = 8) = fill(7) };
}
