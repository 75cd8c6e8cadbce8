// `crate = ".."` reaches the runtime through another crate's re-export.
#![deny(warnings)]

use supervisor::{service, TaskContext};

#[service(crate = "::supervisor_suite::supervisor")]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let _ = feed::spec();
}
