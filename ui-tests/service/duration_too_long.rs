// A duration past the runtime's bound (365 days) is rejected at compile time.
use supervisor::prelude::*;

#[service(shutdown(timeout = "8761h"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
