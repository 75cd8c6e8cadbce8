// The future must be Send: the error points at the function.
use std::rc::Rc;

use supervisor::{service, TaskContext};

#[service]
async fn feed(ctx: TaskContext) {
    let counter = Rc::new(1);
    ctx.cancelled().await;
    let _ = counter;
}

fn main() {}
