// A misspelt supervisor option is an option error with a "did you mean", never a child.
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
    let _ = supervisor! { name = "bot", shutdown_timout = "5s", feed() };
}
