// `#[service]` on an associated fn in an impl block: a service is a free function.
use supervisor::prelude::*;

struct Feeds;

impl Feeds {
    #[service]
    async fn feed(ctx: TaskContext) {
        ctx.cancelled().await;
    }
}

fn main() {}
