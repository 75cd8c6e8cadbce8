// A misspelt service path in a tree: rustc's unresolved import, once, on the child.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = supervisor! { name = "bot", fed() };
}
