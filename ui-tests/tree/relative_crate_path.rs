// `crate` must be an absolute path.
use supervisor::prelude::*;

fn main() {
    let _ = supervisor! {
        crate = "supervisor",
        name = "bot",
        feed = |ctx: TaskContext| async move { ctx.cancelled().await },
    };
}
