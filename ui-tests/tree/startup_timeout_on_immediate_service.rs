// A startup_timeout override on a service with immediate readiness is a compile error.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", feed() with(startup_timeout = "5s") };
}
