// Flags take no value.
use supervisor::{service, TaskContext};

#[service(significant = true, restart = "never")]
async fn job(ctx: TaskContext) {
    let _ = ctx;
}

fn main() {}
