// A significant service must be able to terminate normally.
use supervisor::{service, TaskContext};

#[service(restart = "always", significant)]
async fn job(ctx: TaskContext) {
    let _ = ctx;
}

fn main() {}
