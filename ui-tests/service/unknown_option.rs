// A misspelt option gets a "did you mean" and the list of options.
use supervisor::{service, TaskContext};

#[service(retsart = "always")]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
