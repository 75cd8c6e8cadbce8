// `&'static` values are arguments like owned ones.
#![deny(warnings)]
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext, venue: &'static str, symbols: &'static [&'static str]) {
    let _ = (venue, symbols);
    ctx.cancelled().await;
}

fn main() {
    let tree = supervisor! { name = "bot", feed("binance", &["BTCUSDT"]) };
    assert_eq!(tree.startup_order(), ["feed"]);
    let _ = feed::Service("binance", &[]);
}
