//! Mailboxes against raw `tokio::sync::mpsc` (the floor), by the method of
//! `supervision.rs`: each cell in a fresh process, `--runs` runs (5 by default), medians,
//! ratios to the floor of the same run, a counting allocator.
//!
//! - B1: one producer, one consumer, 64-byte messages through a capacity of 1,024.
//! - B2: four producers, one consumer.
//! - B5: 100,000 queued messages drained by a consumer that starts once they are there.
//!
//! `cargo bench --bench mailbox`; `--messages N` changes B1/B2's count (1,000,000).

#[path = "harness/mod.rs"]
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{Cell, Figures, Flavor, Table, against};
use supervisor::mailbox::{Inbox, Mailbox, service_with_inbox};
use supervisor::prelude::*;
use tokio::sync::{Notify, mpsc, oneshot};

#[global_allocator]
static ALLOCATOR: harness::Counting = harness::Counting;

type Message = [u64; 8];

const CAPACITY: usize = 1_024;
const QUEUED: usize = 100_000;

fn messages() -> usize {
    harness::arg_or("--messages", 1_000_000)
}

fn figures(elapsed: Duration, count: usize, allocations: u64) -> Figures {
    let count = count as f64;
    Figures::from([
        ("ns_per_msg".to_owned(), elapsed.as_secs_f64() * 1e9 / count),
        ("allocs_per_msg".to_owned(), allocations as f64 / count),
    ])
}

/// Sends `count` messages from each of `producers` tasks through `send`.
fn produce<S, F>(producers: usize, count: usize, send: S)
where
    S: Fn(Message) -> F + Clone + Send + 'static,
    F: Future<Output = ()> + Send,
{
    for p in 0..producers {
        let send = send.clone();
        tokio::spawn(async move {
            for i in 0..count {
                send([p as u64, i as u64, 0, 0, 0, 0, 0, 0]).await;
            }
        });
    }
}

/// A task receiving `total` messages from `rx`, as the tree's consumer does (a task of its
/// own, started before the clock), reporting when it has them all.
fn raw_consumer(
    mut rx: mpsc::Receiver<Message>,
    total: usize,
    start: Arc<Notify>,
) -> oneshot::Receiver<Instant> {
    let (done, finished) = oneshot::channel();
    tokio::spawn(async move {
        start.notified().await;
        let mut sum = 0;
        for _ in 0..total {
            sum += rx.recv().await.expect("message")[1];
        }
        std::hint::black_box(sum);
        let _ = done.send(Instant::now());
        std::future::pending::<()>().await;
    });
    finished
}

async fn raw(producers: usize) -> Figures {
    let count = messages() / producers;
    let (tx, rx) = mpsc::channel::<Message>(CAPACITY);
    let start = Arc::new(Notify::new());
    let finished = raw_consumer(rx, count * producers, Arc::clone(&start));
    start.notify_one();
    tokio::task::yield_now().await;
    let before = harness::allocations();
    let t0 = Instant::now();
    produce(producers, count, move |m| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(m).await;
        }
    });
    let end = finished.await.expect("consumer");
    figures(end - t0, count * producers, harness::allocations() - before)
}

/// A tree whose one child consumes `total` messages and reports when it has.
async fn consuming_tree(
    capacity: usize,
    total: usize,
    start: Arc<Notify>,
) -> (
    SupervisorHandle,
    Mailbox<Message>,
    oneshot::Receiver<Instant>,
) {
    let (orders, consumer) = Mailbox::<Message>::bounded("orders", capacity).expect("mailbox");
    let (done, finished) = oneshot::channel();
    let done = std::sync::Mutex::new(Some(done));
    let router = service_with_inbox(
        "router",
        consumer,
        move |_ctx, inbox: &mut Inbox<Message>| {
            let done = done.lock().unwrap().take();
            let start = Arc::clone(&start);
            Box::pin(async move {
                start.notified().await;
                let mut sum = 0;
                for _ in 0..total {
                    sum += inbox.recv().await.expect("message")[1];
                }
                std::hint::black_box(sum);
                if let Some(done) = done {
                    let _ = done.send(Instant::now());
                }
                std::future::pending::<()>().await;
            })
        },
    );
    let spec = SupervisorSpec::builder("bench")
        .child(router)
        .build()
        .expect("spec");
    let config = SupervisorConfig::default().without_signal_handler();
    let tree = Supervisor::start_with_config(spec, config)
        .await
        .expect("tree");
    (tree, orders, finished)
}

async fn ours(producers: usize) -> Figures {
    let count = messages() / producers;
    let start = Arc::new(Notify::new());
    let (tree, orders, finished) =
        consuming_tree(CAPACITY, count * producers, Arc::clone(&start)).await;
    start.notify_one();
    tokio::task::yield_now().await;
    let outbox = orders.sender();
    let before = harness::allocations();
    let t0 = Instant::now();
    produce(producers, count, move |m| {
        let outbox = outbox.clone();
        async move {
            let _ = outbox.send(m).await;
        }
    });
    let end = finished.await.expect("consumer");
    let figures = figures(end - t0, count * producers, harness::allocations() - before);
    tree.shutdown_tree("bench", "done").await;
    figures
}

/// Rounds of B5 per cell: one drain of 100k takes a few milliseconds, too short to measure
/// once.
const DRAINS: usize = 10;

fn fill(send: impl Fn(Message)) {
    for i in 0..QUEUED {
        send([0, i as u64, 0, 0, 0, 0, 0, 0]);
    }
}

/// The median drain of `DRAINS`.
fn drained(mut times: Vec<Duration>) -> Figures {
    let time = harness::quantile(&mut times, 0.5);
    figures(time, QUEUED, 0)
}

async fn raw_drain() -> Figures {
    let mut times = Vec::new();
    for _ in 0..DRAINS {
        let (tx, rx) = mpsc::channel::<Message>(QUEUED);
        let start = Arc::new(Notify::new());
        let finished = raw_consumer(rx, QUEUED, Arc::clone(&start));
        fill(|m| tx.try_send(m).expect("room"));
        let t0 = Instant::now();
        start.notify_one();
        let end = finished.await.expect("consumer");
        times.push(end - t0);
    }
    drained(times)
}

async fn our_drain() -> Figures {
    let mut times = Vec::new();
    for _ in 0..DRAINS {
        let start = Arc::new(Notify::new());
        let (tree, orders, finished) = consuming_tree(QUEUED, QUEUED, Arc::clone(&start)).await;
        let outbox = orders.sender();
        fill(|m| outbox.try_send(m).expect("room"));
        let t0 = Instant::now();
        start.notify_one();
        let end = finished.await.expect("consumer");
        times.push(end - t0);
        tree.shutdown_tree("bench", "done").await;
    }
    drained(times)
}

fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for flavor in [Flavor::Current, Flavor::Multi] {
        cells.push(Cell::new("b1/raw", flavor, |f| f.block_on(raw(1))));
        cells.push(Cell::new("b1/inbox", flavor, |f| f.block_on(ours(1))));
        cells.push(Cell::new("b2/raw", flavor, |f| f.block_on(raw(4))));
        cells.push(Cell::new("b2/inbox", flavor, |f| f.block_on(ours(4))));
        cells.push(Cell::new("b5/raw", flavor, |f| f.block_on(raw_drain())));
        cells.push(Cell::new("b5/inbox", flavor, |f| f.block_on(our_drain())));
    }
    cells
}

fn main() {
    let Some(medians) = harness::run(cells()) else {
        return;
    };
    let mut table = Table::new(&["scenario", "runtime", "raw mpsc", "mailbox", "target"]);
    for flavor in [Flavor::Current, Flavor::Multi] {
        let get = |cell: &str, key: &str| {
            medians
                .get(&format!("{cell}/{}", flavor.tag()))
                .and_then(|f| f.get(key))
                .copied()
        };
        for (name, scenario, target) in [
            ("B1 one producer", "b1", "≤ 1.05×"),
            ("B2 four producers", "b2", "≤ 1.10×"),
            ("B5 drain 100k queued", "b5", "≤ 1.11× (≥ 0.9× the rate)"),
        ] {
            let floor = get(&format!("{scenario}/raw"), "ns_per_msg");
            table.row(vec![
                name.to_owned(),
                flavor.tag().to_owned(),
                against(floor, None, "ns/msg"),
                against(
                    get(&format!("{scenario}/inbox"), "ns_per_msg"),
                    floor,
                    "ns/msg",
                ),
                target.to_owned(),
            ]);
        }
        for scenario in ["b1", "b2"] {
            let raw = get(&format!("{scenario}/raw"), "allocs_per_msg");
            let ours = get(&format!("{scenario}/inbox"), "allocs_per_msg");
            table.row(vec![
                format!("{} allocations per message", scenario.to_uppercase()),
                flavor.tag().to_owned(),
                against(raw, None, ""),
                against(ours, None, ""),
                "as raw".to_owned(),
            ]);
        }
    }
    table.print();
}
