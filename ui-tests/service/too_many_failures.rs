// A breaker limit past the runtime's bound (10,000 remembered failures) is a compile error.
use supervisor::prelude::*;

#[service(circuit_breaker(max_failures = 10001, within = "60s"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
