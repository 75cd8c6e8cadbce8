// TaskContext must come first.
use supervisor::{service, TaskContext};

#[service]
async fn feed(symbol: String, ctx: TaskContext) {
    let _ = (symbol, ctx);
}

fn main() {}
