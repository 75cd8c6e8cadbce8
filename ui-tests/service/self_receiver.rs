// A method receiver is rejected at `self`.
use supervisor::{service, TaskContext};

struct Feed;

impl Feed {
    #[service]
    async fn run(&self, ctx: TaskContext) {
        let _ = ctx;
    }
}

fn main() {}
