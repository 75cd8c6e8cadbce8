// A negative duration says durations cannot be negative.
use supervisor::prelude::*;

#[service(shutdown(timeout = "-5s"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
