// An unknown auto_shutdown lists the valid ones.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service]
async fn risk(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service]
async fn router(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", auto_shutdown = "any", feed() };
}
