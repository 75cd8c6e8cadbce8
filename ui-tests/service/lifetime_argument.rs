// A lifetime parameter gets one error that says to pass owned or 'static values.
use supervisor::{service, TaskContext};

#[service]
async fn feed<'a>(ctx: TaskContext, symbol: &'a str) {
    let _ = (ctx, symbol);
}

fn main() {}
