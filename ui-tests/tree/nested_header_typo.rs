// A misspelt option of a nested supervisor gets a "did you mean" and the valid list.
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
    let _ = supervisor! { name = "bot", feed(), supervisor execution(stratgy = "one_for_all") { router() } };
}
