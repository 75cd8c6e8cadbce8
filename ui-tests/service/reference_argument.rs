// Extra arguments must be owned or 'static: a borrowed one is an error.
use supervisor::{service, TaskContext};

#[service]
async fn feed(ctx: TaskContext, symbol: &str) {
    let _ = (ctx, symbol);
}

fn main() {}
