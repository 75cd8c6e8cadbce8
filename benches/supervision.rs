//! Supervision against the raw-tokio floor, on a current-thread runtime.
//!
//! `cargo bench --bench supervision [-- --runs N --children N]`. Each scenario runs the floor
//! and ours back to back, `runs` times; the table shows the medians and their ratio. Heap bytes
//! come from a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use supervisor::prelude::*;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Start times of successive attempts; the p50 of their gaps is the restart latency.
#[derive(Clone, Default)]
struct Stamps(Arc<Mutex<Vec<Instant>>>);

impl Stamps {
    fn with_capacity(n: usize) -> Self {
        Stamps(Arc::new(Mutex::new(Vec::with_capacity(n))))
    }

    fn stamp(&self) -> usize {
        let mut stamps = self.0.lock().unwrap();
        stamps.push(Instant::now());
        stamps.len()
    }

    fn p50_gap(&self) -> Duration {
        let stamps = self.0.lock().unwrap();
        let mut gaps: Vec<Duration> = stamps.windows(2).map(|w| w[1] - w[0]).collect();
        gaps.sort();
        gaps[gaps.len() / 2]
    }
}

struct Failing {
    stamps: Stamps,
    limit: usize,
    done: Arc<Notify>,
    panic: bool,
}

impl TradingService for Failing {
    fn name(&self) -> &str {
        "failing"
    }

    fn run(&self, ctx: TaskContext) -> ServiceFuture<'_> {
        Box::pin(async move {
            if self.stamps.stamp() == self.limit {
                self.done.notify_one();
                ctx.cancelled().await;
                return Ok(());
            }
            if self.panic {
                panic!("bench");
            }
            Err(ServiceError::from(std::io::Error::other("bench")))
        })
    }
}

fn restart_floor(n: usize, panic: bool) -> Duration {
    runtime().block_on(async {
        let stamps = Stamps::with_capacity(n);
        for _ in 0..n {
            let stamps = stamps.clone();
            let task = tokio::spawn(async move {
                stamps.stamp();
                if panic {
                    panic!("bench");
                }
                Err::<(), _>(std::io::Error::other("bench"))
            });
            let _ = std::hint::black_box(task.await);
        }
        stamps.p50_gap()
    })
}

fn restart_ours(n: usize, panic: bool) -> Duration {
    failing_child(n, panic, SupervisorConfig::default()).0
}

/// Allocations per restart after an error, with no subscriber, with a journal of
/// `journal` events (0: none, so no event is even built). The difference between the two is
/// what recording events costs in allocations.
fn restart_allocations(n: usize, journal: usize) -> f64 {
    failing_child(
        n,
        false,
        SupervisorConfig::default().with_journal_capacity(journal),
    )
    .1
}

/// One child restarted at once after each of its `n` attempts fails (or panics): the p50 gap
/// between attempts, and the allocations per restart while it runs.
fn failing_child(n: usize, panic: bool, config: SupervisorConfig) -> (Duration, f64) {
    runtime().block_on(async {
        let stamps = Stamps::with_capacity(n);
        let done = Arc::new(Notify::new());
        let sup = Supervisor::new(config.without_signal_handler());
        let immediate = BackoffConfig::new(Duration::ZERO, Duration::from_nanos(1))
            .with_jitter(Jitter::None)
            .without_circuit_breaker();
        let service = Failing {
            stamps: stamps.clone(),
            limit: n,
            done: Arc::clone(&done),
            panic,
        };
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        sup.spawn_service_with_options(
            Box::new(service),
            SpawnOptions::new().with_backoff(immediate),
        )
        .unwrap();
        done.notified().await;
        let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
        sup.trigger_shutdown();
        sup.wait_for_drain().await;
        (stamps.p50_gap(), allocations as f64 / n as f64)
    })
}

/// (time to start n idle children, heap bytes per child, time to shut them down)
struct Fleet {
    start: Duration,
    bytes_per_child: f64,
    shutdown: Duration,
}

async fn until_started(started: &AtomicU64, n: u64) {
    while started.load(Ordering::Relaxed) < n {
        tokio::task::yield_now().await;
    }
}

fn fleet_floor(n: usize) -> Fleet {
    runtime().block_on(async {
        let started = Arc::new(AtomicU64::new(0));
        let token = CancellationToken::new();
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        let t0 = Instant::now();
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let (started, token) = (Arc::clone(&started), token.clone());
            tasks.push(tokio::spawn(async move {
                started.fetch_add(1, Ordering::Relaxed);
                token.cancelled().await;
            }));
        }
        until_started(&started, n as u64).await;
        let start = t0.elapsed();
        let bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
        let t1 = Instant::now();
        token.cancel();
        for task in tasks {
            task.await.unwrap();
        }
        Fleet {
            start,
            bytes_per_child: bytes as f64 / n as f64,
            shutdown: t1.elapsed(),
        }
    })
}

/// The declared path: one spec with `n` children, started in bulk.
/// `brutal`: every child has `ShutdownPolicy::BrutalKill` (the abort path).
fn fleet_ours(n: usize, brutal: bool) -> Fleet {
    runtime().block_on(async {
        let started = Arc::new(AtomicU64::new(0));
        let names: Vec<String> = (0..n).map(|i| format!("idle-{i}")).collect();
        let config = SupervisorConfig::default().without_signal_handler();
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        let t0 = Instant::now();
        let children = names.into_iter().map(|name| {
            let started = Arc::clone(&started);
            let child = service_fn(name, move |ctx: TaskContext| {
                started.fetch_add(1, Ordering::Relaxed);
                async move { ctx.cancelled().await }
            });
            match brutal {
                true => child.with_shutdown(ShutdownPolicy::BrutalKill),
                false => child,
            }
        });
        let spec = SupervisorSpec::builder("fleet")
            .children(children)
            .build()
            .unwrap();
        let tree = Supervisor::start_with_config(spec, config).await.unwrap();
        until_started(&started, n as u64).await;
        let start = t0.elapsed();
        let bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
        let t1 = Instant::now();
        tree.shutdown_tree("bench", "done").await;
        Fleet {
            start,
            bytes_per_child: bytes as f64 / n as f64,
            shutdown: t1.elapsed(),
        }
    })
}

/// Start, state and shutdown of a chain of `depth` nested supervisors with one idle leaf.
fn deep(depth: usize) -> [Duration; 3] {
    let idle = || service_fn("leaf", |ctx| async move { ctx.cancelled().await });
    let mut spec = SupervisorSpec::builder("level")
        .child(idle())
        .build()
        .unwrap();
    for _ in 1..depth {
        spec = SupervisorSpec::builder("level")
            .child(ChildSpec::supervisor(spec))
            .build()
            .unwrap();
    }
    runtime().block_on(async move {
        let config = SupervisorConfig::default().without_signal_handler();
        let t0 = Instant::now();
        let tree = Supervisor::start_with_config(spec, config).await.unwrap();
        while tree.current_state().await.iter().count() < depth
            || tree
                .current_state()
                .await
                .iter()
                .any(|c| c.phase != ServicePhase::Running)
        {
            tokio::task::yield_now().await;
        }
        let start = t0.elapsed();
        let t1 = Instant::now();
        let state = tree.current_state().await;
        let query = t1.elapsed();
        assert_eq!(state.iter().count(), depth);
        let t2 = Instant::now();
        let report = tree.shutdown_tree("bench", "done").await;
        let shutdown = t2.elapsed();
        assert_eq!(report.services.len(), depth);
        [start, query, shutdown]
    })
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn row(name: &str, floor: f64, ours: f64, unit: &str, target: f64) {
    let ratio = ours / floor;
    let verdict = if ratio <= target { "ok" } else { "OVER" };
    println!(
        "{name:<34} {floor:>10.2} {unit:<3} {ours:>10.2} {unit:<3} {ratio:>6.2}x  (target <= {target}x) {verdict}"
    );
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // Panics are the scenario, not news.
    std::panic::set_hook(Box::new(|_| {}));
    let runs = arg("--runs", 5);
    let children = arg("--children", 100_000);
    let restarts = 20_000;

    let mut error = (Vec::new(), Vec::new());
    let mut panic = (Vec::new(), Vec::new());
    let mut fleet = (Vec::new(), Vec::new());
    let mut brutal = Vec::new();
    let mut allocations = (Vec::new(), Vec::new());
    for _ in 0..runs {
        allocations.0.push(restart_allocations(restarts, 0));
        allocations.1.push(restart_allocations(restarts, 1024));
        error.0.push(us(restart_floor(restarts, false)));
        error.1.push(us(restart_ours(restarts, false)));
        panic.0.push(us(restart_floor(restarts, true)));
        panic.1.push(us(restart_ours(restarts, true)));
        fleet.0.push(fleet_floor(children));
        fleet.1.push(fleet_ours(children, false));
        brutal.push(fleet_ours(children, true));
    }
    let depths = [200, 400, 800];
    let mut nesting: Vec<Vec<[Duration; 3]>> = vec![Vec::new(); depths.len()];
    for _ in 0..runs {
        for (i, &depth) in depths.iter().enumerate() {
            nesting[i].push(deep(depth));
        }
    }
    println!("median of {runs} runs, current-thread runtime\n");
    println!(
        "{:<34} {:>14} {:>14} {:>7}",
        "scenario", "raw tokio", "supervisor", "ratio"
    );
    row(
        "restart after an error, p50",
        median(error.0),
        median(error.1),
        "us",
        2.0,
    );
    row(
        "restart after a panic, p50",
        median(panic.0),
        median(panic.1),
        "us",
        1.3,
    );
    let pick = |f: &Vec<Fleet>, get: fn(&Fleet) -> f64| median(f.iter().map(get).collect());
    let title = |what: &str| format!("{what} {children} idle children");
    row(
        &title("start"),
        pick(&fleet.0, |f| ms(f.start)),
        pick(&fleet.1, |f| ms(f.start)),
        "ms",
        3.0,
    );
    row(
        "heap bytes per idle child",
        pick(&fleet.0, |f| f.bytes_per_child),
        pick(&fleet.1, |f| f.bytes_per_child),
        "B",
        3.0,
    );
    row(
        &title("shut down"),
        pick(&fleet.0, |f| ms(f.shutdown)),
        pick(&fleet.1, |f| ms(f.shutdown)),
        "ms",
        3.0,
    );
    row(
        &format!("shut down {children}, brutal_kill"),
        pick(&fleet.0, |f| ms(f.shutdown)),
        pick(&brutal, |f| ms(f.shutdown)),
        "ms",
        3.0,
    );
    println!(
        "\nallocations per restart, no subscriber: journal off {:.2}, journal of 1024 events {:.2} (recording adds {:.2})",
        median(allocations.0.clone()),
        median(allocations.1.clone()),
        median(allocations.1) - median(allocations.0)
    );
    println!("\ndeep nesting (linear when the per-level figures stay flat)");
    for (i, &depth) in depths.iter().enumerate() {
        let pick = |k: usize| ms(median(nesting[i].iter().map(|d| d[k]).collect()));
        let (start, state, shutdown) = (pick(0), pick(1), pick(2));
        let per = |v: f64| v * 1e3 / depth as f64;
        println!(
            "{depth:>4} levels: start {start:>7.2} ms ({:>5.1} us/level), state {state:>7.2} ms ({:>5.1} us/level), shutdown {shutdown:>7.2} ms ({:>5.1} us/level)",
            per(start),
            per(state),
            per(shutdown)
        );
    }
}
