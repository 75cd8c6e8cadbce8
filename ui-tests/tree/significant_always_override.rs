// A significant child must be able to end normally.
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
    let _ = supervisor! {
        name = "bot",
        auto_shutdown = "any_significant",
        feed() with(restart = "always", significant),
    };
}
