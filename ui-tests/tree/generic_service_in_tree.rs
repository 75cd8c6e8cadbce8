// A generic service used in a tree: one error at its generics, nothing at the tree's call.
use supervisor::prelude::*;

#[service]
async fn feed<T: Clone + Send + Sync + 'static>(ctx: TaskContext, venue: T) {
    let _ = venue;
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", feed("binance") };
}
