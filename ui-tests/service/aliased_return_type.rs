// A return type hidden behind an alias is checked by the compiler, in our words.
use supervisor::prelude::*;

type Outcome = u32;

#[service]
async fn feed(ctx: TaskContext) -> Outcome {
    ctx.cancelled().await;
    1
}

fn main() {}
