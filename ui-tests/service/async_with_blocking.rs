// `blocking` on an async fn: the error says to remove one of them.
use supervisor::{service, TaskContext};

#[service(blocking)]
async fn replay(ctx: TaskContext) {
    let _ = ctx;
}

fn main() {}
