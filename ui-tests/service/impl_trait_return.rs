// `impl Trait` returns are rejected with the accepted shapes.
use supervisor::{service, TaskContext};

#[service]
async fn feed(ctx: TaskContext) -> impl Sized {
    let _ = ctx;
}

fn main() {}
