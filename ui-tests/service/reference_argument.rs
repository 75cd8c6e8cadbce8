// Extra arguments must be owned.
use supervisor::{service, TaskContext};

#[service]
async fn feed(ctx: TaskContext, symbol: &'static str) {
    let _ = (ctx, symbol);
}

fn main() {}
