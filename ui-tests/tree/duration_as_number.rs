// A duration written as a number says it is a string with a unit.
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
    let _ = supervisor! { name = "bot", shutdown_timeout = 5, feed() };
}
