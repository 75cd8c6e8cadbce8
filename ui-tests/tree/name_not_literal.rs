// A name that is not a literal says it must be one.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service]
async fn router(ctx: TaskContext) {
    ctx.cancelled().await;
}

const BOT_NAME: &str = "bot";

fn main() {
    let _ = supervisor! { name = BOT_NAME, feed() };
}
