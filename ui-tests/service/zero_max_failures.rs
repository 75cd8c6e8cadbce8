// A breaker that opens before any failure is rejected.
use supervisor::{service, TaskContext};

#[service(circuit_breaker(max_failures = 0, within = "1m"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
