// Readiness is immediate or explicit.
use supervisor::{service, TaskContext};

#[service(readiness = "manual")]
async fn risk(ctx: TaskContext) {
    ctx.ready();
}

fn main() {}
