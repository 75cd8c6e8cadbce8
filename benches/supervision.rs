//! Supervision against the raw-tokio floor, by the method of `benches/README.md`.
//!
//! `cargo bench --bench supervision [-- --runs N --children N --only PREFIX]`. Every cell
//! runs `runs` times, each in a fresh process; the tables show medians and their ratio to the
//! floor of the same run. `--cell NAME` runs one cell (what the parent process does).
//! `benches/peers/` builds this file as a module, for the same floors and front doors beside
//! the peers.

pub(crate) mod harness;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub(crate) use harness::marks::{ATTEMPTS, Marks, immediate};
use harness::{Cell, Figures, Flavor, Table, against, allocations, live_bytes, ms, quantile, us};
use supervisor::prelude::*;
use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[global_allocator]
static ALLOCATOR: harness::Counting = harness::Counting;

pub(crate) fn children() -> usize {
    harness::arg_or("--children", 100_000)
}

// ---------------------------------------------------------------------------------------
// S1 / S4: restart latency, from the child's last statement before it fails to the first
// statement of its next attempt.

fn bench_error() -> std::io::Error {
    // A simple kind: no allocation, for the floor and ours alike.
    std::io::Error::from(std::io::ErrorKind::ConnectionReset)
}

/// What both sides run at the end of an attempt: mark it, then fail or panic.
pub(crate) async fn fail(marks: &Marks, panic: bool) -> Result<(), std::io::Error> {
    marks.last();
    if panic {
        panic!("bench");
    }
    Err(bench_error())
}

/// The failing child: each attempt fails (or panics) until the last, which stays. Its body
/// is the floor's task body plus the check for the last attempt, so that both unwind through
/// the same frames of user code.
#[service(restart = "always")]
async fn failing(ctx: TaskContext, marks: Marks, done: Arc<Notify>) -> Result<(), std::io::Error> {
    if marks.first() == ATTEMPTS {
        done.notify_one();
        ctx.cancelled().await;
        return Ok(());
    }
    fail(&marks, false).await
}

#[service(restart = "always")]
async fn panicking(
    ctx: TaskContext,
    marks: Marks,
    done: Arc<Notify>,
) -> Result<(), std::io::Error> {
    if marks.first() == ATTEMPTS {
        done.notify_one();
        ctx.cancelled().await;
        return Ok(());
    }
    fail(&marks, true).await
}

pub(crate) fn restart_floor(flavor: Flavor, panic: bool) -> Figures {
    flavor.block_on(async move {
        let marks = Marks::new();
        for _ in 0..ATTEMPTS - 1 {
            let marks = marks.clone();
            let task = tokio::spawn(async move {
                marks.first();
                fail(&marks, panic).await
            });
            let _ = std::hint::black_box(task.await);
        }
        // The attempt that stays, so both sides record the same marks.
        marks.first();
        marks.figures()
    })
}

/// The declarative front door: a one-child tree with a real intensity window that cannot
/// trip.
pub(crate) fn restart_tree(flavor: Flavor, panic: bool) -> Figures {
    flavor.block_on(async move {
        let (marks, done) = (Marks::new(), Arc::new(Notify::new()));
        let child = match panic {
            false => failing::spec(marks.clone(), Arc::clone(&done)),
            true => panicking::spec(marks.clone(), Arc::clone(&done)),
        }
        .with_backoff(immediate());
        let spec = SupervisorSpec::builder("bench")
            .intensity(10_000, Duration::from_millis(1))
            .child(child)
            .build()
            .unwrap();
        let tree = Supervisor::start_with_config(spec, quiet()).await.unwrap();
        done.notified().await;
        tree.shutdown_tree("bench", "done").await;
        marks.figures()
    })
}

/// The imperative front door: `spawn_service` of the same service.
pub(crate) fn restart_root(flavor: Flavor, panic: bool) -> Figures {
    flavor.block_on(async move {
        let (marks, done) = (Marks::new(), Arc::new(Notify::new()));
        let sup = Supervisor::new(quiet());
        let service = match panic {
            false => Box::new(failing::Service(marks.clone(), Arc::clone(&done)))
                as Box<dyn TradingService>,
            true => Box::new(panicking::Service(marks.clone(), Arc::clone(&done))),
        };
        sup.spawn_service_with_options(service, SpawnOptions::new().with_backoff(immediate()))
            .unwrap();
        done.notified().await;
        sup.trigger_shutdown();
        sup.wait_for_drain().await;
        marks.figures()
    })
}

/// No signal handler, no journal: nothing but supervision.
pub(crate) fn quiet() -> SupervisorConfig {
    SupervisorConfig::default()
        .without_signal_handler()
        .with_journal_capacity(0)
}

// ---------------------------------------------------------------------------------------
// S2 / S3: start n idle children, their heap, shut them down.

/// Counts first statements and dropped futures of the idle children.
#[derive(Clone, Default)]
pub(crate) struct Fleet {
    pub(crate) started: Arc<AtomicU64>,
    pub(crate) dropped: Arc<AtomicU64>,
}

/// Counts a dropped child future.
pub(crate) struct OnDrop(pub(crate) Arc<AtomicU64>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Fleet {
    pub(crate) async fn until(counter: &AtomicU64, n: usize) {
        while counter.load(Ordering::Relaxed) < n as u64 {
            tokio::task::yield_now().await;
        }
    }

    /// Measures one fleet: `start` makes the children (from nothing), `stop` shuts them down.
    /// `stop` returns what is left (a handle, a report): dropped after the timing, since
    /// shutdown has returned by then.
    pub(crate) async fn measure<T, S, F, R>(
        self,
        n: usize,
        start: impl FnOnce(Fleet) -> S,
        stop: impl FnOnce(T) -> F,
    ) -> Figures
    where
        S: Future<Output = T>,
        F: Future<Output = R>,
    {
        let before = live_bytes();
        let t0 = Instant::now();
        let running = start(self.clone()).await;
        Self::until(&self.started, n).await;
        let start = t0.elapsed();
        // A short settle: whatever the starts left queued is done.
        for _ in 0..64 {
            tokio::task::yield_now().await;
        }
        let bytes = live_bytes() - before;
        let t1 = Instant::now();
        let left = stop(running).await;
        Self::until(&self.dropped, n).await;
        let shutdown = t1.elapsed();
        drop(left);
        BTreeMap::from([
            ("start_ms".to_owned(), ms(start)),
            ("bytes".to_owned(), bytes as f64 / n as f64),
            ("shutdown_ms".to_owned(), ms(shutdown)),
        ])
    }
}

#[service(restart = "always")]
async fn idle(ctx: TaskContext, fleet: Fleet) {
    fleet.started.fetch_add(1, Ordering::Relaxed);
    let _dropped = OnDrop(Arc::clone(&fleet.dropped));
    ctx.cancelled().await;
}

pub(crate) fn fleet_floor(flavor: Flavor) -> Figures {
    let n = children();
    flavor.block_on(Fleet::default().measure(
        n,
        move |fleet: Fleet| async move {
            let (tracker, token) = (TaskTracker::new(), CancellationToken::new());
            for _ in 0..n {
                let (fleet, token) = (fleet.clone(), token.clone());
                tracker.spawn(async move {
                    fleet.started.fetch_add(1, Ordering::Relaxed);
                    let _dropped = OnDrop(Arc::clone(&fleet.dropped));
                    token.cancelled().await;
                });
            }
            (tracker, token)
        },
        |(tracker, token)| async move {
            token.cancel();
            tracker.close();
            tracker.wait().await;
            (tracker, token)
        },
    ))
}

pub(crate) fn fleet_tree(flavor: Flavor, brutal: bool) -> Figures {
    let n = children();
    flavor.block_on(Fleet::default().measure(
        n,
        move |fleet: Fleet| async move {
            let children = (0..n).map(|i| {
                let child = idle::spec(fleet.clone()).with_name(format!("idle-{i}"));
                match brutal {
                    true => child.with_shutdown(ShutdownPolicy::BrutalKill),
                    false => child,
                }
            });
            let spec = SupervisorSpec::builder("fleet")
                .children(children)
                .build()
                .unwrap();
            Supervisor::start_with_config(spec, quiet()).await.unwrap()
        },
        |tree| async move {
            let report = tree.shutdown_tree("bench", "done").await;
            (tree, report)
        },
    ))
}

/// The imperative root's service: a name of its own per child.
struct Idle {
    name: String,
    fleet: Fleet,
}

impl TradingService for Idle {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, ctx: TaskContext) -> ServiceFuture<'_> {
        Box::pin(async move {
            self.fleet.started.fetch_add(1, Ordering::Relaxed);
            let _dropped = OnDrop(Arc::clone(&self.fleet.dropped));
            ctx.cancelled().await;
            Ok(())
        })
    }
}

pub(crate) fn fleet_root(flavor: Flavor) -> Figures {
    let n = children();
    flavor.block_on(Fleet::default().measure(
        n,
        move |fleet: Fleet| async move {
            let sup = Supervisor::new(quiet());
            for i in 0..n {
                let service = Idle {
                    name: format!("idle-{i}"),
                    fleet: fleet.clone(),
                };
                sup.spawn_service(Box::new(service)).unwrap();
            }
            sup
        },
        |sup| async move {
            sup.trigger_shutdown();
            let report = sup.wait_for_drain().await;
            (sup, report)
        },
    ))
}

// ---------------------------------------------------------------------------------------
// S5: one_for_all restart of 1,000 siblings, from the failure until all run again.

const SIBLINGS: usize = 1_000;

/// Round `k` of the siblings: how many have begun it.
#[derive(Clone, Default)]
struct Rounds {
    begun: Arc<AtomicU64>,
}

#[service(restart = "always")]
async fn sibling(ctx: TaskContext, rounds: Rounds) {
    rounds.begun.fetch_add(1, Ordering::Relaxed);
    ctx.cancelled().await;
}

/// The siblings' failing member: fails when told to.
#[service(restart = "always")]
async fn trigger(
    ctx: TaskContext,
    rounds: Rounds,
    fail: Arc<Notify>,
) -> Result<(), std::io::Error> {
    rounds.begun.fetch_add(1, Ordering::Relaxed);
    tokio::select! {
        _ = fail.notified() => Err(bench_error()),
        _ = ctx.cancelled() => Ok(()),
    }
}

const ROUNDS: u64 = 20;

fn one_for_all_floor(flavor: Flavor) -> Figures {
    flavor.block_on(async move {
        let rounds = Rounds::default();
        let spawn_all = |token: &CancellationToken| {
            let tracker = TaskTracker::new();
            for _ in 0..SIBLINGS {
                let (rounds, token) = (rounds.clone(), token.clone());
                tracker.spawn(async move {
                    rounds.begun.fetch_add(1, Ordering::Relaxed);
                    token.cancelled().await;
                });
            }
            tracker
        };
        let mut token = CancellationToken::new();
        let mut tracker = spawn_all(&token);
        Fleet::until(&rounds.begun, SIBLINGS).await;
        let t0 = Instant::now();
        for round in 2..=ROUNDS {
            // One fails: all are stopped, then all start again.
            token.cancel();
            tracker.close();
            tracker.wait().await;
            token = CancellationToken::new();
            tracker = spawn_all(&token);
            Fleet::until(&rounds.begun, SIBLINGS * round as usize).await;
        }
        let per = t0.elapsed() / (ROUNDS - 1) as u32;
        token.cancel();
        BTreeMap::from([("restart_us".to_owned(), us(per))])
    })
}

fn one_for_all_tree(flavor: Flavor) -> Figures {
    flavor.block_on(async move {
        let (rounds, fail) = (Rounds::default(), Arc::new(Notify::new()));
        let spec = SupervisorSpec::builder("siblings")
            .strategy(Strategy::OneForAll)
            .intensity(10_000, Duration::from_millis(1))
            .child(trigger::spec(rounds.clone(), Arc::clone(&fail)).with_backoff(immediate()))
            .children((1..SIBLINGS).map(|i| {
                sibling::spec(rounds.clone())
                    .with_name(format!("s{i}"))
                    .with_backoff(immediate())
            }))
            .build()
            .unwrap();
        let tree = Supervisor::start_with_config(spec, quiet()).await.unwrap();
        Fleet::until(&rounds.begun, SIBLINGS).await;
        let t0 = Instant::now();
        for round in 2..=ROUNDS {
            fail.notify_one();
            Fleet::until(&rounds.begun, SIBLINGS * round as usize).await;
        }
        let per = t0.elapsed() / (ROUNDS - 1) as u32;
        tree.shutdown_tree("bench", "done").await;
        BTreeMap::from([("restart_us".to_owned(), us(per))])
    })
}

// ---------------------------------------------------------------------------------------
// S6: restarts per second with nobody listening, one subscriber, the journal on.

#[derive(Clone, Copy)]
enum Listening {
    Nobody,
    Subscriber,
    Journal,
}

fn restarts_per_second(flavor: Flavor, listening: Listening) -> Figures {
    flavor.block_on(async move {
        let (marks, done) = (Marks::new(), Arc::new(Notify::new()));
        let spec = SupervisorSpec::builder("bench")
            .intensity(10_000, Duration::from_millis(1))
            .child(failing::spec(marks.clone(), Arc::clone(&done)).with_backoff(immediate()))
            .build()
            .unwrap();
        let config = match listening {
            Listening::Journal => SupervisorConfig::default().without_signal_handler(),
            _ => quiet(),
        };
        let seen = Arc::new(AtomicU64::new(0));
        let (tree, events) = match listening {
            Listening::Subscriber => {
                let (tree, mut events) = Supervisor::start_with_events(spec, config).await.unwrap();
                // A subscriber that keeps up: it reads every event as it comes.
                let seen = Arc::clone(&seen);
                let reader = tokio::spawn(async move {
                    loop {
                        match events.recv().await {
                            Ok(_) => seen.fetch_add(1, Ordering::Relaxed),
                            Err(RecvError::Lagged(missed)) => {
                                seen.fetch_add(missed, Ordering::Relaxed)
                            }
                            Err(RecvError::Closed) => break,
                        };
                    }
                });
                (tree, Some(reader))
            }
            _ => (
                Supervisor::start_with_config(spec, config).await.unwrap(),
                None,
            ),
        };
        let before = allocations();
        let t0 = Instant::now();
        done.notified().await;
        let elapsed = t0.elapsed();
        let allocated = allocations() - before;
        tree.shutdown_tree("bench", "done").await;
        drop(tree);
        if let Some(reader) = events {
            reader.abort();
        }
        let restarts = (ATTEMPTS - 1) as f64;
        let seen = seen.load(Ordering::Relaxed) as f64;
        BTreeMap::from([
            ("events_per_restart".to_owned(), seen / restarts), // read or missed
            (
                "restarts_per_s".to_owned(),
                restarts / elapsed.as_secs_f64(),
            ),
            ("allocs_per_restart".to_owned(), allocated as f64 / restarts),
        ])
    })
}

// ---------------------------------------------------------------------------------------
// S7: a state query and a command on a 100k-child tree.

fn big_tree_queries(flavor: Flavor) -> Figures {
    let n = children();
    flavor.block_on(async move {
        let fleet = Fleet::default();
        let spec = SupervisorSpec::builder("fleet")
            .children((0..n).map(|i| idle::spec(fleet.clone()).with_name(format!("idle-{i}"))))
            .build()
            .unwrap();
        let tree = Supervisor::start_with_config(spec, quiet()).await.unwrap();
        Fleet::until(&fleet.started, n).await;
        let t0 = Instant::now();
        let state = tree.current_state().await;
        let query = t0.elapsed();
        assert_eq!(state.iter().count(), n);
        drop(state);
        // Ten commands on children across the tree: the median, accepted and done.
        let (mut accepted, mut done) = (Vec::new(), Vec::new());
        for k in 0..10 {
            let target = format!("fleet/idle-{}", k * n / 10);
            let t1 = Instant::now();
            tree.restart_child(&target, "bench", "S7").await.unwrap();
            accepted.push(t1.elapsed());
            Fleet::until(&fleet.started, n + k + 1).await;
            done.push(t1.elapsed());
        }
        let command = quantile(&mut accepted, 0.5);
        let command_done = quantile(&mut done, 0.5);
        tree.shutdown_tree("bench", "done").await;
        BTreeMap::from([
            ("state_ms".to_owned(), ms(query)),
            ("command_us".to_owned(), us(command)),
            ("command_done_us".to_owned(), us(command_done)),
        ])
    })
}

// ---------------------------------------------------------------------------------------
// Deep nesting: start, state and shutdown of a chain of nested supervisors.

fn deep(flavor: Flavor, depth: usize) -> Figures {
    let fleet = Fleet::default();
    let mut spec = SupervisorSpec::builder("level")
        .child(idle::spec(fleet.clone()))
        .build()
        .unwrap();
    for _ in 1..depth {
        spec = SupervisorSpec::builder("level")
            .child(ChildSpec::supervisor(spec))
            .build()
            .unwrap();
    }
    flavor.block_on(async move {
        let t0 = Instant::now();
        let tree = Supervisor::start_with_config(spec, quiet()).await.unwrap();
        Fleet::until(&fleet.started, 1).await;
        let start = t0.elapsed();
        let t1 = Instant::now();
        let state = tree.current_state().await;
        let query = t1.elapsed();
        assert_eq!(state.iter().count(), depth);
        let t2 = Instant::now();
        let report = tree.shutdown_tree("bench", "done").await;
        let shutdown = t2.elapsed();
        assert_eq!(report.services.len(), depth);
        let per_level = |d: Duration| us(d) / depth as f64;
        BTreeMap::from([
            ("start_us_per_level".to_owned(), per_level(start)),
            ("state_us_per_level".to_owned(), per_level(query)),
            ("shutdown_us_per_level".to_owned(), per_level(shutdown)),
        ])
    })
}

// ---------------------------------------------------------------------------------------

fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for flavor in [Flavor::Current, Flavor::Multi] {
        for (scenario, panic) in [("s1", false), ("s4", true)] {
            cells.push(Cell::new(&format!("{scenario}/floor"), flavor, move |f| {
                restart_floor(f, panic)
            }));
            cells.push(Cell::new(&format!("{scenario}/tree"), flavor, move |f| {
                restart_tree(f, panic)
            }));
            cells.push(Cell::new(&format!("{scenario}/root"), flavor, move |f| {
                restart_root(f, panic)
            }));
        }
        cells.push(Cell::new("s2/floor", flavor, fleet_floor));
        cells.push(Cell::new("s2/tree", flavor, |f| fleet_tree(f, false)));
        cells.push(Cell::new("s2/root", flavor, fleet_root));
        cells.push(Cell::new("s3k/tree", flavor, |f| fleet_tree(f, true)));
        cells.push(Cell::new("s5/floor", flavor, one_for_all_floor));
        cells.push(Cell::new("s5/tree", flavor, one_for_all_tree));
        cells.push(Cell::new("s6/nobody", flavor, |f| {
            restarts_per_second(f, Listening::Nobody)
        }));
        cells.push(Cell::new("s6/subscriber", flavor, |f| {
            restarts_per_second(f, Listening::Subscriber)
        }));
        cells.push(Cell::new("s6/journal", flavor, |f| {
            restarts_per_second(f, Listening::Journal)
        }));
        cells.push(Cell::new("s7/tree", flavor, big_tree_queries));
        for depth in [200, 800] {
            cells.push(Cell::new(&format!("deep{depth}/tree"), flavor, move |f| {
                deep(f, depth)
            }));
        }
    }
    cells
}

fn main() {
    let Some(medians) = harness::run(cells()) else {
        return;
    };
    for flavor in [Flavor::Current, Flavor::Multi] {
        let get = |cell: &str, key: &str| {
            medians
                .get(&format!("{cell}/{}", flavor.tag()))
                .and_then(|f| f.get(key))
                .copied()
        };
        let runtime = match flavor {
            Flavor::Current => "current-thread",
            Flavor::Multi => "multi-thread, 2 workers",
        };
        println!("\n### {runtime}\n");
        let mut table = Table::new(&[
            "scenario",
            "floor",
            "declarative tree",
            "imperative root",
            "target",
        ]);
        let mut line = |name: &str, scenario: &str, key: &str, unit: &str, target: &str| {
            let floor = get(&format!("{scenario}/floor"), key);
            table.row(vec![
                name.to_owned(),
                against(floor, None, unit),
                against(get(&format!("{scenario}/tree"), key), floor, unit),
                against(get(&format!("{scenario}/root"), key), floor, unit),
                target.to_owned(),
            ]);
        };
        line(
            "S1 restart after an error, p50",
            "s1",
            "p50_us",
            "µs",
            "≤ 2×",
        );
        line("S1 p99", "s1", "p99_us", "µs", "≤ 2×");
        line(
            "S4 restart after a panic, p50",
            "s4",
            "p50_us",
            "µs",
            "≤ 1.2×",
        );
        line(
            "S2 start 100k idle children",
            "s2",
            "start_ms",
            "ms",
            "≤ 3×",
        );
        line(
            "S2 heap bytes per idle child",
            "s2",
            "bytes",
            "B",
            "≤ 660 B",
        );
        line(
            "S3 shut down 100k idle children",
            "s2",
            "shutdown_ms",
            "ms",
            "≤ 3×",
        );
        let floor = get("s2/floor", "shutdown_ms");
        table.row(vec![
            "S3 shut down, brutal_kill".to_owned(),
            against(floor, None, "ms"),
            against(get("s3k/tree", "shutdown_ms"), floor, "ms"),
            "n/a".to_owned(),
            "≤ 3×".to_owned(),
        ]);
        let floor = get("s5/floor", "restart_us");
        table.row(vec![
            "S5 one_for_all, 1,000 siblings".to_owned(),
            against(floor, None, "µs"),
            against(get("s5/tree", "restart_us"), floor, "µs"),
            "n/a".to_owned(),
            "bounded".to_owned(),
        ]);
        table.print();
        println!();
        let mut table = Table::new(&[
            "S6 restarts per second",
            "nobody listens",
            "one subscriber",
            "journal on",
        ]);
        let rate = |cell: &str| {
            get(cell, "restarts_per_s").map_or("n/a".into(), |v| format!("{:.0}k/s", v / 1e3))
        };
        let allocs = |cell: &str| {
            get(cell, "allocs_per_restart").map_or("n/a".into(), |v| format!("{v:.2}"))
        };
        table.row(vec![
            "rate".into(),
            rate("s6/nobody"),
            rate("s6/subscriber"),
            rate("s6/journal"),
        ]);
        table.row(vec![
            "allocations per restart".into(),
            allocs("s6/nobody"),
            allocs("s6/subscriber"),
            allocs("s6/journal"),
        ]);
        table.print();
        println!();
        let mut table = Table::new(&["S7 on a 100k-child tree", "time"]);
        let cell = |key: &str, unit: &str| against(get("s7/tree", key), None, unit);
        table.row(vec!["current_state()".into(), cell("state_ms", "ms")]);
        table.row(vec![
            "restart_child accepted".into(),
            cell("command_us", "µs"),
        ]);
        table.row(vec![
            "restart_child, child running again".into(),
            cell("command_done_us", "µs"),
        ]);
        table.print();
        println!();
        let mut table = Table::new(&["deep nesting, per level", "start", "state", "shutdown"]);
        for depth in [200, 800] {
            let cell = |key: &str| against(get(&format!("deep{depth}/tree"), key), None, "µs");
            table.row(vec![
                format!("{depth} levels"),
                cell("start_us_per_level"),
                cell("state_us_per_level"),
                cell("shutdown_us_per_level"),
            ]);
        }
        table.print();
    }
}
