// A service declared significant, in a supervisor with auto_shutdown = "never": a compile error.
use supervisor::prelude::*;

#[service(significant)]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", feed() };
}
