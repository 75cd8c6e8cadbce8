// With an error in the tree, code using the tree reports nothing more.
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

#[tokio::main]
async fn main() {
    let tree = supervisor! { name = "bot", feed() after(nothing) };
    let _ = tree.startup_order();
    let _ = tree.run_until_shutdown().await;
}
