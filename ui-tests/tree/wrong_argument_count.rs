// A child called with the wrong number of arguments: the error is on that child's call.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext, venue: &'static str) {
    let _ = venue;
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", feed("binance", 2) };
}
