// The attribute twice on one function.
use supervisor::{service, TaskContext};

#[service]
#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
