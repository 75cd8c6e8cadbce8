// Extra arguments are cloned for every attempt: the error lands on the type.
use supervisor::{service, TaskContext};

struct Connection;

#[service]
async fn feed(ctx: TaskContext, connection: Connection) {
    let _ = (ctx, connection);
}

fn main() {}
