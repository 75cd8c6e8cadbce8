// A significant override under auto_shutdown = "never" is an error, as in OTP.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", feed() with(significant) };
}
