// A plain fn without `blocking`: the error says to write `async fn` or add `blocking`.
use supervisor::{service, TaskContext};

#[service]
fn feed(ctx: TaskContext) {
    let _ = ctx;
}

fn main() {}
