// A fraction too long to compute is an error at the literal, not a panic of the macro.
use supervisor::prelude::*;

#[service(shutdown(timeout = "1.99999999999999999999999999999h"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
