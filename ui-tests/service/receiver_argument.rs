// An argument that is neither Clone nor Sync (a channel's receiver) gets one error, at its
// type, in our words.
use supervisor::{service, TaskContext};
use tokio::sync::mpsc::Receiver;

#[service]
async fn router(ctx: TaskContext, orders: Receiver<u64>) {
    let _ = (ctx, orders);
}

fn main() {}
