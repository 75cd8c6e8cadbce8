// A zero duration is rejected on its literal.
use supervisor::{service, TaskContext};

#[service(heartbeat(stale_after = "0s"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
