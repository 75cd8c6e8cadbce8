// An enumerated value written bare gets one error showing the quoted form.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service]
async fn router(ctx: TaskContext) {
    ctx.cancelled().await;
}


fn main() {
    let _ = supervisor! { name = "bot", strategy = rest_for_one, feed() };
}
