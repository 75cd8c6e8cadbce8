// A return type the supervisor cannot classify: the error lands on it.
use supervisor::{service, TaskContext};

#[service]
async fn feed(ctx: TaskContext) -> u32 {
    let _ = ctx;
    7
}

fn main() {}
