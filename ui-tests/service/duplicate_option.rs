// Each option once: the error is on the repetition.
use supervisor::{service, TaskContext};

#[service(restart = "always", restart = "never")]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
