// A plain async fn (without #[service]) used as a child.
use supervisor::prelude::*;

async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", feed() };
}
