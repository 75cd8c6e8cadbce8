// The attribute says restart = "always", the override says significant: a compile error.
use supervisor::prelude::*;

#[service(restart = "always")]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", auto_shutdown = "any_significant", feed() with(significant) };
}
