// `circuit_breaker = true` is not a configuration.
use supervisor::{service, TaskContext};

#[service(circuit_breaker = true)]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
