// Generic services are rejected at the generics.
use supervisor::{service, TaskContext};

#[service]
async fn feed<T: Clone + Send + Sync + 'static>(ctx: TaskContext, venue: T) {
    let _ = (ctx, venue);
}

fn main() {}
