// The first delay cannot exceed the largest.
use supervisor::{service, TaskContext};

#[service(backoff(base = "30s", max = "1s"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
