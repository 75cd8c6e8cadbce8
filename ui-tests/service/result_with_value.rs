// A Result that carries a value gets one error at the return type.
use supervisor::prelude::*;

#[service]
async fn feed(ctx: TaskContext) -> Result<u32, std::io::Error> {
    ctx.cancelled().await;
    Ok(1)
}

fn main() {}
