// A cycle through both kinds of edge: one error per edge, each naming the whole cycle.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service]
async fn router(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! {
        name = "bot",
        feed() after(router),
        router() requires(feed),
    };
}
