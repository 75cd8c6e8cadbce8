// startup_timeout needs readiness = "explicit".
use supervisor::{service, TaskContext};

#[service(startup_timeout = "10s")]
async fn risk(ctx: TaskContext) {
    ctx.ready();
}

fn main() {}
