// A duration without a known unit lists the units.
use supervisor::{service, TaskContext};

#[service(shutdown(timeout = "5 seconds"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
