// `#[service]` on a fn inside a function body (a test, say), with an argument type declared in
// that body too, and a tree in the same body. An argument type called `Service` needs no path.
use supervisor::prelude::*;

#[derive(Clone)]
struct Service(&'static str);

#[service]
async fn named(ctx: TaskContext, service: Service) {
    let _ = service.0;
    ctx.cancelled().await;
}

fn main() {
    #[derive(Clone)]
    struct Venue(&'static str);

    #[service(restart = "always")]
    async fn feed(ctx: TaskContext, venue: Venue) {
        let _ = venue.0;
        ctx.cancelled().await;
    }

    let tree = supervisor! {
        name = "bot",
        feed(Venue("binance")),
        named(Service("x")) requires(feed),
    };
    assert_eq!(tree.startup_order(), ["feed", "named"]);
    assert_eq!(feed::NAME, "feed");
    let _ = feed::Service(Venue("kraken"));
}
