// A blocking service cannot borrow an inbox: its thread could outlive the attempt.
use supervisor::mailbox::Inbox;
use supervisor::{service, TaskContext};

#[service(blocking)]
fn ledger(ctx: TaskContext, fills: &mut Inbox<u32>) {
    let _ = (ctx, fills);
}

fn main() {}
