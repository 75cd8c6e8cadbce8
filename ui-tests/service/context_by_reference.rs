// TaskContext is taken by value.
use supervisor::{service, TaskContext};

#[service]
async fn feed(ctx: &TaskContext) {
    let _ = ctx;
}

fn main() {}
