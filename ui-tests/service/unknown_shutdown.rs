// An unknown shutdown keyword lists the valid ones.
use supervisor::{service, TaskContext};

#[service(shutdown = "brutal")]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
