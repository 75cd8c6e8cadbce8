// An unknown restart policy lists the valid ones, OTP names included.
use supervisor::{service, TaskContext};

#[service(restart = "sometimes")]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
