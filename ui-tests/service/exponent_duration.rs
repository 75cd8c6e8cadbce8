// An exponent says exponents are not supported.
use supervisor::prelude::*;

#[service(shutdown(timeout = "1e3ms"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
