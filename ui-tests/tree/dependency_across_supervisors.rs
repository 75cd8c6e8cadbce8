// Dependencies name siblings only; the error says where the child lives.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service]
async fn risk(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service]
async fn router(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! {
        name = "bot",
        feed(),
        supervisor execution { router() after(risk) },
        risk(),
    };
}
