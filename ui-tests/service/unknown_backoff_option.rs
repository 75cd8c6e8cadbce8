// A misspelt option inside backoff(..).
use supervisor::{service, TaskContext};

#[service(backoff(bse = "1s"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
