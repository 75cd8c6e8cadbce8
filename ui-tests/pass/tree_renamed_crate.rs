// `crate = ".."` reaches the runtime through another crate's re-export.
#![deny(warnings)]

use supervisor::prelude::*;

#[service(crate = "::supervisor_suite::supervisor")]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let tree = supervisor! {
        crate = "::supervisor_suite::supervisor",
        name = "bot",
        feed(),
    };
    let _ = tree.startup_order();
}
