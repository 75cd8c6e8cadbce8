// A misspelt `on_open` value gets a "did you mean" and the valid values.
use supervisor::prelude::*;

#[service(circuit_breaker(max_failures = 5, within = "60s", on_open = "escalte"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
