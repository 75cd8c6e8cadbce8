// `crate` must be an absolute path.
use supervisor::{service, TaskContext};

#[service(crate = "supervisor")]
async fn feed(ctx: TaskContext) {
    let _ = ctx;
}

fn main() {}
