// An unknown strategy lists the valid ones.
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
    let _ = supervisor! { name = "bot", strategy = "one_for_al", feed() };
}
