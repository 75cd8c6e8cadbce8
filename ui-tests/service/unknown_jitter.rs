// An unknown jitter lists the valid ones.
use supervisor::{service, TaskContext};

#[service(backoff(jitter = "ful"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
