// A never-restarted service has no use for a backoff.
use supervisor::{service, TaskContext};

#[service(restart = "never", backoff(base = "1s", max = "10s"))]
async fn report(ctx: TaskContext) {
    let _ = ctx;
}

fn main() {}
