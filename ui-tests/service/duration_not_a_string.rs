// Durations are string literals.
use supervisor::{service, TaskContext};

#[service(backoff(base = 100))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
