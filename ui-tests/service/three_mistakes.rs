// Three mistakes, three errors, in one compile.
use supervisor::{service, TaskContext};

#[service(restart = "sometimes", backoff(base = "1x"), tgs("a"))]
async fn feed(ctx: TaskContext) {
    let _ = ctx;
}

fn main() {}
