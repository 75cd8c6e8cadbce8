// `max_dynamic_children` written as a string.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", max_dynamic_children = "4", feed() };
}
