// The user's own names `ctx`, `spec` and `attempt` do not clash with generated ones.
#![deny(warnings)]

use supervisor::{service, TaskContext};

#[service]
async fn feed(ctx: TaskContext, spec: String, attempt: u32) {
    let _ = (ctx, spec, attempt);
}

fn main() {
    let ctx = 1;
    let spec = feed::spec(String::from("a"), 2);
    let attempt = spec.name().len();
    let _ = (ctx, attempt);
}
