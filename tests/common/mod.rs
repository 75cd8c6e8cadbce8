//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use supervisor::prelude::*;
use tokio::time::Instant;

/// A service made of a closure, for tests.
pub struct FnService {
    name: String,
    policy: RestartPolicy,
    run: Box<dyn Fn(TaskContext) -> ServiceFuture<'static> + Send + Sync>,
}

impl TradingService for FnService {
    fn name(&self) -> &str {
        &self.name
    }

    fn restart_policy(&self) -> RestartPolicy {
        self.policy
    }

    fn run(&self, ctx: TaskContext) -> ServiceFuture<'_> {
        (self.run)(ctx)
    }
}

pub fn service<F, Fut>(name: &str, policy: RestartPolicy, run: F) -> Box<dyn TradingService>
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ServiceError>> + Send + 'static,
{
    Box::new(FnService {
        name: name.to_owned(),
        policy,
        run: Box::new(move |ctx| Box::pin(run(ctx))),
    })
}

/// A child that waits for its cancellation and returns.
pub fn idle(name: impl Into<Arc<str>>) -> ChildSpec {
    service_fn(
        name,
        |ctx: TaskContext| async move { ctx.cancelled().await },
    )
}

/// No signal handling, reproducible jitter.
pub fn test_config() -> SupervisorConfig {
    SupervisorConfig::default()
        .without_signal_handler()
        .with_rng_seed(7)
}

/// Starts a root `bot` with `children` and [`test_config`].
pub async fn start_bot(children: impl IntoIterator<Item = ChildSpec>) -> SupervisorHandle {
    let spec = SupervisorSpec::builder("bot")
        .children(children)
        .build()
        .unwrap();
    Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap()
}

/// Exponential backoff without jitter or breaker, in milliseconds.
pub fn plain_backoff(base_ms: u64, max_ms: u64) -> BackoffConfig {
    BackoffConfig::new(
        Duration::from_millis(base_ms),
        Duration::from_millis(max_ms),
    )
    .with_jitter(Jitter::None)
    .without_circuit_breaker()
}

pub fn with_backoff(backoff: BackoffConfig) -> SpawnOptions {
    SpawnOptions::new().with_backoff(backoff)
}

/// Records when attempts start, in milliseconds since the recorder was made.
#[derive(Clone)]
pub struct StartLog {
    origin: Instant,
    starts: Arc<Mutex<Vec<u64>>>,
}

impl StartLog {
    pub fn new() -> Self {
        StartLog {
            origin: Instant::now(),
            starts: Arc::default(),
        }
    }

    pub fn record(&self) {
        let ms = self.origin.elapsed().as_millis() as u64;
        self.starts.lock().unwrap().push(ms);
    }

    pub fn millis(&self) -> Vec<u64> {
        self.starts.lock().unwrap().clone()
    }
}

/// Sleeps on the (paused) Tokio clock; everything due until then has run when it returns.
pub async fn run_for(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The `Terminated` events received so far: each child's path and why it ended, and how many
/// times it started (`Started` events) before. Temporary children added at run time are
/// released when they end, so events are where their ending is seen.
pub fn endings(
    events: &mut tokio::sync::broadcast::Receiver<supervisor::LifecycleEvent>,
) -> Vec<(String, u32, supervisor::TerminationReason)> {
    let mut starts = std::collections::HashMap::<String, u32>::new();
    let mut found = Vec::new();
    while let Ok(event) = events.try_recv() {
        match event.kind {
            supervisor::EventKind::Started { attempt } => {
                starts.insert(event.path.to_string(), attempt);
            }
            supervisor::EventKind::Terminated(reason) => {
                let started = starts.get(&*event.path).copied().unwrap_or(0);
                found.push((event.path.to_string(), started, reason));
            }
            _ => {}
        }
    }
    found
}

pub fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// What services did, in order, with the (paused) time since the journal was made.
#[derive(Clone)]
pub struct Journal {
    origin: Instant,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Journal {
    pub fn new() -> Self {
        Journal {
            origin: Instant::now(),
            lines: Arc::default(),
        }
    }

    pub fn log(&self, what: impl std::fmt::Display) {
        let ms = self.origin.elapsed().as_millis();
        self.lines.lock().unwrap().push(format!("{ms} {what}"));
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Logs `what` when dropped: an attempt's drops are done when this line appears.
    pub fn on_drop(&self, what: impl Into<String>) -> JournalOnDrop {
        JournalOnDrop(self.clone(), what.into())
    }
}

pub struct JournalOnDrop(Journal, String);

impl Drop for JournalOnDrop {
    fn drop(&mut self) {
        self.0.log(&self.1);
    }
}

/// A child that logs `start NAME#ATTEMPT` and, once fully dropped, `stop NAME`. It fails
/// (`fail_at_ms` after starting its first attempt) if asked, and takes `drain_ms` to stop.
pub fn logged(
    name: &'static str,
    journal: &Journal,
    fail_at_ms: Option<u64>,
    drain_ms: u64,
) -> supervisor::ChildSpec {
    let journal = journal.clone();
    supervisor::service_fn(name, move |ctx: TaskContext| {
        let journal = journal.clone();
        async move {
            let _stopped = journal.on_drop(format!("stop {name}"));
            journal.log(format!("start {name}#{}", ctx.attempt()));
            if let (Some(ms), 1) = (fail_at_ms, ctx.attempt()) {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                return Err(ServiceError::from(format!("{name} lost its connection")));
            }
            ctx.cancelled().await;
            tokio::time::sleep(Duration::from_millis(drain_ms)).await;
            Ok(())
        }
    })
    .with_backoff(plain_backoff(50, 50))
}

/// Each service's path and shutdown outcome, in report order.
pub fn outcomes(report: &supervisor::ShutdownReport) -> Vec<(&str, supervisor::StopOutcome)> {
    report
        .services
        .iter()
        .map(|s| (s.path.as_str(), s.outcome))
        .collect()
}

/// Counts the attempts of one child that run at once; cloned into its (blocking) function.
#[derive(Clone, Default)]
pub struct OverlapProbe {
    live: Arc<std::sync::atomic::AtomicU32>,
    overlapped: Arc<std::sync::atomic::AtomicBool>,
}

impl OverlapProbe {
    /// Marks an attempt running until the guard is dropped.
    pub fn enter(&self) -> impl Drop + use<> {
        use std::sync::atomic::Ordering::SeqCst;
        if self.live.fetch_add(1, SeqCst) > 0 {
            self.overlapped.store(true, SeqCst);
        }
        struct Leave(Arc<std::sync::atomic::AtomicU32>);
        impl Drop for Leave {
            fn drop(&mut self) {
                self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        Leave(Arc::clone(&self.live))
    }

    /// Whether two attempts ever ran at once.
    pub fn overlapped(&self) -> bool {
        self.overlapped.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Sets the flag when dropped: lets a stubborn blocking worker end even if an assertion fails,
/// so that the runtime can shut down.
pub struct ReleaseOnDrop(pub Arc<std::sync::atomic::AtomicBool>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A small deterministic rng (splitmix64), so that randomized tests depend on nothing but
/// their seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// An environment variable as a number.
pub fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The seeds a randomized test runs: `$seed_var` alone if set, else `0..$cases_var`
/// (`default` if unset).
pub fn seeds(seed_var: &str, cases_var: &str, default: u64) -> Vec<u64> {
    match env_u64(seed_var) {
        Some(seed) => vec![seed],
        None => (0..env_u64(cases_var).unwrap_or(default)).collect(),
    }
}

/// A fresh current-thread runtime on the paused clock, for one randomized case.
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}
