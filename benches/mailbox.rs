//! Mailboxes against raw `tokio::sync::mpsc` (the floor), by the method of
//! `supervision.rs`: each cell in a fresh process, `--runs` runs (5 by default), medians,
//! ratios to the floor of the same run, a counting allocator.
//!
//! - B1: one producer, one consumer, 64-byte messages through a capacity of 1,024; at most
//!   once (`Inbox`), and at least once with an ack per message (`AckInbox`).
//!   Also paired: the three in turn in one cell, round after round, judged by the median of
//!   each round's own ratio to the floor.
//! - B2: four producers, one consumer.
//! - B3: allocations per message, counted in B1 and B2.
//! - B4: restart handover: restart latency (S1's measure) of a consumer that leases its
//!   inbox against the same child without a mailbox, both measured in one cell, round after
//!   round in alternating order; the verdict is the median over rounds of each round's own
//!   p50 ratio, so a slow phase of the machine counts against both sides alike. And
//!   throughput with the consumer failing every 1,000 messages, against the
//!   `Arc<tokio::sync::Mutex<Receiver>>` workaround.
//! - B5: 100,000 queued messages drained by a consumer that starts once they are there; the
//!   raw receiver, a tree's child on Tokio's receiver and the inbox drain in turn in one cell,
//!   judged by the median of each round's own ratio to the raw drain.
//! - B6: memory of an idle mailbox beyond its Tokio channel.
//!
//! Each producer owns its sender (a clone made once), on both sides.
//!
//! `cargo bench --bench mailbox`; `--messages N` changes B1/B2/B4's count (1,000,000).

#[path = "harness/mod.rs"]
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::marks::{ATTEMPTS, Marks, immediate, latencies};
use harness::{Cell, Figures, Flavor, Table, against};
use supervisor::mailbox::{AckInbox, Inbox, Mailbox, Outbox, service_with_inbox};
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

/// A producer's own sender: Tokio's, or an outbox.
trait Sends: Clone + Send + Sync + 'static {
    fn put(&self, message: Message) -> impl Future<Output = ()> + Send + '_;
}

impl Sends for mpsc::Sender<Message> {
    async fn put(&self, message: Message) {
        let _ = self.send(message).await;
    }
}

impl Sends for Outbox<Message> {
    async fn put(&self, message: Message) {
        let _ = self.send(message).await;
    }
}

/// Sends `count` messages from each of `producers` tasks, each with a clone of `sender`.
fn produce(producers: usize, count: usize, sender: impl Sends) {
    for p in 0..producers {
        let sender = sender.clone();
        tokio::spawn(async move {
            for i in 0..count {
                sender.put([p as u64, i as u64, 0, 0, 0, 0, 0, 0]).await;
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
    produce(producers, count, tx);
    let end = finished.await.expect("consumer");
    figures(end - t0, count * producers, harness::allocations() - before)
}

/// Rounds of B1 in its paired cell, each sending through all three sides.
const B1_ROUNDS: usize = 6;

/// B1 paired: the floor, at most once and at least once in turn, round after round (the
/// order rotating), in one process; the median over rounds of each round's own ratio to the
/// floor. Between processes the floor moves by a quarter on this VM, which single-side cells
/// cannot tell from the mailbox's cost.
async fn b1_paired() -> Figures {
    let (mut inbox, mut ack) = (Vec::new(), Vec::new());
    for round in 0..B1_ROUNDS {
        let mut ns = [0.0; 3];
        for side in 0..3 {
            let side = (side + round) % 3;
            let figures = match side {
                0 => raw(1).await,
                1 => ours(1, Delivery::AtMostOnce).await,
                _ => ours(1, Delivery::Acked).await,
            };
            ns[side] = figures.get("ns_per_msg").copied().unwrap_or(f64::NAN);
        }
        inbox.push(ns[1] / ns[0]);
        ack.push(ns[2] / ns[0]);
    }
    Figures::from([
        ("inbox_ratio".to_owned(), harness::median(inbox)),
        ("ack_ratio".to_owned(), harness::median(ack)),
    ])
}

/// A tree of one child and its mailbox's sender.
async fn tree_of(child: ChildSpec) -> SupervisorHandle {
    let spec = SupervisorSpec::builder("bench")
        .intensity(10_000, Duration::from_millis(1))
        .child(child)
        .build()
        .expect("spec");
    let config = SupervisorConfig::default().without_signal_handler();
    Supervisor::start_with_config(spec, config)
        .await
        .expect("tree")
}

/// How the consumer takes each message.
#[derive(Clone, Copy)]
enum Delivery {
    AtMostOnce,
    /// An `AckInbox`, acking each message.
    Acked,
}

/// A tree whose one child consumes `total` messages and reports when it has.
async fn consuming_tree(
    capacity: usize,
    total: usize,
    start: Arc<Notify>,
    delivery: Delivery,
) -> (
    SupervisorHandle,
    Outbox<Message>,
    oneshot::Receiver<Instant>,
) {
    let (done, finished) = oneshot::channel();
    let done = Arc::new(std::sync::Mutex::new(Some(done)));
    let report = move |sum: u64| {
        std::hint::black_box(sum);
        if let Some(done) = done.lock().unwrap().take() {
            let _ = done.send(Instant::now());
        }
    };
    let (outbox, router) = match delivery {
        Delivery::AtMostOnce => {
            let (orders, consumer) =
                Mailbox::<Message>::bounded("orders", capacity).expect("mailbox");
            let router = service_with_inbox(
                "router",
                consumer,
                move |_ctx, inbox: &mut Inbox<Message>| {
                    let (start, report) = (Arc::clone(&start), report.clone());
                    Box::pin(async move {
                        start.notified().await;
                        let mut sum = 0;
                        for _ in 0..total {
                            sum += inbox.recv().await.expect("message")[1];
                        }
                        report(sum);
                        // Shut down quickly: `None` once the mailbox is closed.
                        while inbox.recv().await.is_some() {}
                    })
                },
            );
            (orders.sender(), router)
        }
        Delivery::Acked => {
            let (orders, consumer) = Mailbox::<Message>::builder("orders", capacity)
                .at_least_once(3)
                .build()
                .expect("mailbox");
            let router = service_with_inbox(
                "router",
                consumer,
                move |_ctx, inbox: &mut AckInbox<Message>| {
                    let (start, report) = (Arc::clone(&start), report.clone());
                    Box::pin(async move {
                        start.notified().await;
                        let mut sum = 0;
                        for _ in 0..total {
                            sum += inbox.recv().await.expect("message").ack()[1];
                        }
                        report(sum);
                        while inbox.recv().await.is_some() {}
                    })
                },
            );
            (orders.sender(), router)
        }
    };
    (tree_of(router).await, outbox, finished)
}

async fn ours(producers: usize, delivery: Delivery) -> Figures {
    let count = messages() / producers;
    let start = Arc::new(Notify::new());
    let (tree, outbox, finished) =
        consuming_tree(CAPACITY, count * producers, Arc::clone(&start), delivery).await;
    start.notify_one();
    tokio::task::yield_now().await;
    let before = harness::allocations();
    let t0 = Instant::now();
    produce(producers, count, outbox);
    let end = finished.await.expect("consumer");
    let figures = figures(end - t0, count * producers, harness::allocations() - before);
    tree.shutdown_tree("bench", "done").await;
    figures
}

/// Rounds of B5 per cell, each draining once on all three sides: one drain of 100k takes a
/// few milliseconds, too short to measure once.
const DRAINS: usize = 12;

fn fill(send: impl Fn(Message)) {
    for i in 0..QUEUED {
        send([0, i as u64, 0, 0, 0, 0, 0, 0]);
    }
}

/// B5: the three drains in turn, round after round (the order rotating), so that all three
/// meet the same heap and the same CPU: between processes the floor moves by half.
async fn drains() -> Figures {
    let mut times: [Vec<Duration>; 3] = Default::default();
    let mut ratios = Vec::new();
    for round in 0..DRAINS {
        for side in 0..3 {
            let side = (side + round) % 3;
            let time = match side {
                0 => raw_drain().await,
                1 => tree_raw_drain().await,
                _ => our_drain().await,
            };
            times[side].push(time);
        }
        let (raw, ours) = (times[0][round], times[2][round]);
        ratios.push(ours.as_secs_f64() / raw.as_secs_f64());
    }
    let per_message = |times: &mut Vec<Duration>| {
        harness::quantile(times, 0.5).as_secs_f64() * 1e9 / QUEUED as f64
    };
    let [raw, tree, ours] = &mut times;
    Figures::from([
        ("raw_ns_per_msg".to_owned(), per_message(raw)),
        ("tree_ns_per_msg".to_owned(), per_message(tree)),
        ("ns_per_msg".to_owned(), per_message(ours)),
        ("paired_ratio".to_owned(), harness::median(ratios)),
    ])
}

/// The floor: a task draining Tokio's receiver.
async fn raw_drain() -> Duration {
    let (tx, rx) = mpsc::channel::<Message>(QUEUED);
    let start = Arc::new(Notify::new());
    let finished = raw_consumer(rx, QUEUED, Arc::clone(&start));
    fill(|m| tx.try_send(m).expect("room"));
    let t0 = Instant::now();
    start.notify_one();
    finished.await.expect("consumer") - t0
}

/// The tree's share: a child of a tree draining Tokio's receiver, moved into its first
/// attempt.
async fn tree_raw_drain() -> Duration {
    let (tx, rx) = mpsc::channel::<Message>(QUEUED);
    let rx = Arc::new(std::sync::Mutex::new(Some(rx)));
    let start = Arc::new(Notify::new());
    let (done, finished) = oneshot::channel();
    let done = Arc::new(std::sync::Mutex::new(Some(done)));
    let child = {
        let start = Arc::clone(&start);
        service_fn("router", move |ctx: TaskContext| {
            let (start, rx, done) = (Arc::clone(&start), Arc::clone(&rx), Arc::clone(&done));
            async move {
                let Some(mut rx) = rx.lock().unwrap().take() else {
                    return Err(std::io::Error::other("a second attempt"));
                };
                start.notified().await;
                let mut sum = 0;
                for _ in 0..QUEUED {
                    sum += rx.recv().await.expect("message")[1];
                }
                std::hint::black_box(sum);
                if let Some(done) = done.lock().unwrap().take() {
                    let _ = done.send(Instant::now());
                }
                ctx.cancelled().await;
                Ok(())
            }
        })
    };
    let tree = tree_of(child).await;
    fill(|m| tx.try_send(m).expect("room"));
    let t0 = Instant::now();
    start.notify_one();
    let end = finished.await.expect("consumer");
    tree.shutdown_tree("bench", "done").await;
    end - t0
}

/// Ours: the tree's child draining its inbox.
async fn our_drain() -> Duration {
    let start = Arc::new(Notify::new());
    let (tree, outbox, finished) =
        consuming_tree(QUEUED, QUEUED, Arc::clone(&start), Delivery::AtMostOnce).await;
    fill(|m| outbox.try_send(m).expect("room"));
    let t0 = Instant::now();
    start.notify_one();
    let end = finished.await.expect("consumer");
    tree.shutdown_tree("bench", "done").await;
    end - t0
}

/// Rounds of B4's restart latency per cell, each measuring both sides.
const RESTART_ROUNDS: usize = 10;

/// B4: restart latencies without and with a mailbox, round after round (the order
/// alternating), so that both meet the same heap and CPU: the p50 and p99 of each side's
/// pooled restarts, and the median over rounds of the ratio of the two sides' p50 in the
/// same round (robust to the process changing speed between rounds, which this VM does).
async fn restart_latencies() -> Figures {
    let (mut plain, mut inbox, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..RESTART_ROUNDS {
        let (mut plain_round, mut inbox_round) = (Vec::new(), Vec::new());
        for side in [round % 2, (round + 1) % 2] {
            if side == 0 {
                plain_round = restart_plain().await;
            } else {
                inbox_round = restart_inbox().await;
            }
        }
        let p50 = |gaps: &mut Vec<Duration>| harness::quantile(gaps, 0.5).as_secs_f64();
        ratios.push(p50(&mut inbox_round) / p50(&mut plain_round));
        plain.extend(plain_round);
        inbox.extend(inbox_round);
    }
    let mut figures = Figures::new();
    for (side, latencies) in [("plain", latencies(plain)), ("inbox", latencies(inbox))] {
        for (key, value) in latencies {
            figures.insert(format!("{side}_{key}"), value);
        }
    }
    figures.insert("paired_p50_ratio".to_owned(), harness::median(ratios));
    figures
}

/// B4: restart latency of a child that fails at once, without a mailbox.
async fn restart_plain() -> Vec<Duration> {
    let (marks, done) = (Marks::new(), Arc::new(Notify::new()));
    let child = {
        let (marks, done) = (marks.clone(), Arc::clone(&done));
        service_fn("router", move |ctx: TaskContext| {
            let (marks, done) = (marks.clone(), Arc::clone(&done));
            async move { attempt(&ctx, &marks, &done).await }
        })
    };
    restarts(child.with_restart(RestartPolicy::Always), &marks, &done).await
}

/// B4: the same child consuming a mailbox: each attempt leases the inbox and gives it back.
async fn restart_inbox() -> Vec<Duration> {
    let (marks, done) = (Marks::new(), Arc::new(Notify::new()));
    let (_orders, consumer) = Mailbox::<Message>::bounded("orders", CAPACITY).expect("mailbox");
    let child = {
        let (marks, done) = (marks.clone(), Arc::clone(&done));
        service_with_inbox(
            "router",
            consumer,
            move |ctx, inbox: &mut Inbox<Message>| {
                let (marks, done) = (marks.clone(), Arc::clone(&done));
                Box::pin(async move {
                    std::hint::black_box(&inbox);
                    attempt(&ctx, &marks, &done).await
                })
            },
        )
    };
    restarts(child.with_restart(RestartPolicy::Always), &marks, &done).await
}

/// One attempt: marked first, then failing, except the last, which stays.
async fn attempt(ctx: &TaskContext, marks: &Marks, done: &Notify) -> Result<(), std::io::Error> {
    if marks.first() == ATTEMPTS {
        done.notify_one();
        ctx.cancelled().await;
        return Ok(());
    }
    marks.last();
    Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
}

async fn restarts(child: ChildSpec, marks: &Marks, done: &Notify) -> Vec<Duration> {
    let tree = tree_of(child.with_backoff(immediate())).await;
    done.notified().await;
    tree.shutdown_tree("bench", "done").await;
    marks.gaps()
}

/// Messages per attempt in B4's throughput: the consumer fails after each batch.
const FAIL_EVERY: usize = 1_000;

/// B4 throughput, the workaround: a receiver behind `Arc<tokio::sync::Mutex<..>>`, locked for
/// each `recv`, by a plain child that fails every 1,000 messages.
async fn mutex_with_failures() -> Figures {
    let total = messages();
    let (tx, rx) = mpsc::channel::<Message>(CAPACITY);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let (done, finished) = oneshot::channel();
    let done = Arc::new(std::sync::Mutex::new(Some(done)));
    let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let child = service_fn("router", move |ctx: TaskContext| {
        let (rx, done, received) = (Arc::clone(&rx), Arc::clone(&done), Arc::clone(&received));
        async move {
            for _ in 0..FAIL_EVERY {
                let message = rx.lock().await.recv().await.expect("message");
                std::hint::black_box(message);
                if received.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 == total {
                    if let Some(done) = done.lock().unwrap().take() {
                        let _ = done.send(Instant::now());
                    }
                    ctx.cancelled().await;
                    return Ok(());
                }
            }
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
        }
    });
    throughput_with_failures(child, tx, finished, total).await
}

/// B4 throughput, ours: a consumer that fails every 1,000 messages.
async fn inbox_with_failures() -> Figures {
    let total = messages();
    let (orders, consumer) = Mailbox::<Message>::bounded("orders", CAPACITY).expect("mailbox");
    let (done, finished) = oneshot::channel();
    let done = Arc::new(std::sync::Mutex::new(Some(done)));
    let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let child = service_with_inbox(
        "router",
        consumer,
        move |_ctx, inbox: &mut Inbox<Message>| {
            let (done, received) = (Arc::clone(&done), Arc::clone(&received));
            Box::pin(async move {
                for _ in 0..FAIL_EVERY {
                    let message = inbox.recv().await.expect("message");
                    std::hint::black_box(message);
                    if received.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 == total {
                        if let Some(done) = done.lock().unwrap().take() {
                            let _ = done.send(Instant::now());
                        }
                        while inbox.recv().await.is_some() {}
                        return Ok(());
                    }
                }
                Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
            })
        },
    );
    throughput_with_failures(child, orders.sender(), finished, total).await
}

async fn throughput_with_failures(
    child: ChildSpec,
    sender: impl Sends,
    finished: oneshot::Receiver<Instant>,
    total: usize,
) -> Figures {
    let tree = tree_of(
        child
            .with_restart(RestartPolicy::Always)
            .with_backoff(immediate()),
    )
    .await;
    let t0 = Instant::now();
    produce(1, total, sender);
    let end = finished.await.expect("consumer");
    tree.shutdown_tree("bench", "done").await;
    figures(end - t0, total, 0)
}

/// Idle mailboxes made in B6, to average the bytes of one.
const IDLE: usize = 10_000;

/// B6: bytes an idle mailbox takes beyond a Tokio channel of the same capacity.
fn idle_memory() -> Figures {
    let before = harness::live_bytes();
    let channels: Vec<_> = (0..IDLE)
        .map(|_| mpsc::channel::<Message>(CAPACITY))
        .collect();
    let raw = harness::live_bytes() - before;
    drop(channels);
    let before = harness::live_bytes();
    let mailboxes: Vec<_> = (0..IDLE)
        .map(|i| Mailbox::<Message>::bounded(format!("m{i}"), CAPACITY).expect("mailbox"))
        .collect();
    let ours = harness::live_bytes() - before;
    drop(mailboxes);
    let before = harness::live_bytes();
    let acking: Vec<_> = (0..IDLE)
        .map(|i| {
            Mailbox::<Message>::builder(format!("m{i}"), CAPACITY)
                .at_least_once(3)
                .build()
                .expect("mailbox")
        })
        .collect();
    let ours_acking = harness::live_bytes() - before;
    drop(acking);
    let per = |bytes: isize| bytes as f64 / IDLE as f64;
    Figures::from([
        ("channel_bytes".to_owned(), per(raw)),
        ("extra_bytes".to_owned(), per(ours - raw)),
        ("extra_ack_bytes".to_owned(), per(ours_acking - raw)),
    ])
}

fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for flavor in [Flavor::Current, Flavor::Multi] {
        cells.push(Cell::new("b1/raw", flavor, |f| f.block_on(raw(1))));
        cells.push(Cell::new("b1/inbox", flavor, |f| {
            f.block_on(ours(1, Delivery::AtMostOnce))
        }));
        cells.push(Cell::new("b1/ack", flavor, |f| {
            f.block_on(ours(1, Delivery::Acked))
        }));
        cells.push(Cell::new("b1/paired", flavor, |f| f.block_on(b1_paired())));
        cells.push(Cell::new("b2/raw", flavor, |f| f.block_on(raw(4))));
        cells.push(Cell::new("b2/inbox", flavor, |f| {
            f.block_on(ours(4, Delivery::AtMostOnce))
        }));
        cells.push(Cell::new("b4/restart", flavor, |f| {
            f.block_on(restart_latencies())
        }));
        cells.push(Cell::new("b4/mutex", flavor, |f| {
            f.block_on(mutex_with_failures())
        }));
        cells.push(Cell::new("b4/failing", flavor, |f| {
            f.block_on(inbox_with_failures())
        }));
        cells.push(Cell::new("b5/drain", flavor, |f| f.block_on(drains())));
    }
    cells.push(Cell::new("b6/idle", Flavor::Current, |_| idle_memory()));
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
        // (scenario, floor cell and key, our cell and key, unit, target)
        let ns = "ns_per_msg";
        for (name, (floor, floor_key), (ours, key), unit, target) in [
            (
                "B1 one producer",
                ("b1/raw", ns),
                ("b1/inbox", ns),
                "ns/msg",
                "≤ 1.05×",
            ),
            (
                "B1 at least once, ack each",
                ("b1/raw", ns),
                ("b1/ack", ns),
                "ns/msg",
                "≤ 1.10×",
            ),
            (
                "B2 four producers",
                ("b2/raw", ns),
                ("b2/inbox", ns),
                "ns/msg",
                "≤ 1.10×",
            ),
            (
                "B4 restart p50 (no mailbox → inbox)",
                ("b4/restart", "plain_p50_us"),
                ("b4/restart", "inbox_p50_us"),
                "µs",
                "≤ 1.1×",
            ),
            (
                "B4 failing every 1k (Mutex → inbox)",
                ("b4/mutex", ns),
                ("b4/failing", ns),
                "ns/msg",
                "< 1×",
            ),
            (
                "B5 drain 100k queued",
                ("b5/drain", "raw_ns_per_msg"),
                ("b5/drain", ns),
                "ns/msg",
                "≤ 1.11× (≥ 0.9× the rate)",
            ),
            (
                "B5 the same, a tree's child on Tokio's receiver",
                ("b5/drain", "raw_ns_per_msg"),
                ("b5/drain", "tree_ns_per_msg"),
                "ns/msg",
                "(the tree's share)",
            ),
        ] {
            let floor = get(floor, floor_key);
            table.row(vec![
                name.to_owned(),
                flavor.tag().to_owned(),
                against(floor, None, unit),
                against(get(ours, key), floor, unit),
                target.to_owned(),
            ]);
        }
        for (name, (cell, key), target) in [
            (
                "B1 one producer, paired by round",
                ("b1/paired", "inbox_ratio"),
                "≤ 1.05×",
            ),
            (
                "B1 at least once, paired by round",
                ("b1/paired", "ack_ratio"),
                "≤ 1.10×",
            ),
            (
                "B4 restart p50, paired by round",
                ("b4/restart", "paired_p50_ratio"),
                "≤ 1.1×",
            ),
            (
                "B5 drain 100k queued, paired by round",
                ("b5/drain", "paired_ratio"),
                "≤ 1.11× (≥ 0.9× the rate)",
            ),
        ] {
            table.row(vec![
                name.to_owned(),
                flavor.tag().to_owned(),
                "1 (each round's)".to_owned(),
                get(cell, key).map_or_else(|| "n/a".to_owned(), |ratio| format!("{ratio:.2}×")),
                target.to_owned(),
            ]);
        }
        for (scenario, ours) in [("b1", "b1/inbox"), ("b1", "b1/ack"), ("b2", "b2/inbox")] {
            let raw = get(&format!("{scenario}/raw"), "allocs_per_msg");
            table.row(vec![
                format!("B3 allocations per message ({ours})"),
                flavor.tag().to_owned(),
                against(raw, None, ""),
                against(get(ours, "allocs_per_msg"), None, ""),
                "as raw".to_owned(),
            ]);
        }
    }
    let idle = |key: &str| medians.get("b6/idle/ct").and_then(|f| f.get(key)).copied();
    for (name, key) in [
        ("B6 idle mailbox, bytes beyond its channel", "extra_bytes"),
        ("B6 idle at-least-once mailbox, the same", "extra_ack_bytes"),
    ] {
        table.row(vec![
            name.to_owned(),
            "-".to_owned(),
            against(idle("channel_bytes"), None, "B"),
            against(idle(key), None, "B"),
            "≤ 256 B".to_owned(),
        ]);
    }
    table.print();
}
