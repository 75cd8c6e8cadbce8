// An option after the first child says options come first, instead of becoming a child.
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
    let _ = supervisor! { name = "bot", feed(), shutdown_timeout = "5s" };
}
