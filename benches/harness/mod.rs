//! What `supervision.rs` and `peers/` share: a counting allocator, one fresh process per
//! measurement, medians, and the markdown table.
//!
//! A bench binary calls [`main`] with its cells. Without `--cell` it runs every selected cell
//! `--runs` times, each in a fresh process of itself (so no run inherits another's heap or
//! warm caches), and prints the medians; with `--cell NAME` it runs that one cell and prints
//! its figures as `RESULT key=value ...`.

#![allow(dead_code)] // each bench uses its own subset

pub mod marks;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::time::Duration;

/// Counts live bytes and allocations; forwards everything to the system allocator.
pub struct Counting;

pub static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
pub static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

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

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

pub fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Which runtime a cell runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `new_current_thread`
    Current,
    /// `new_multi_thread` with 2 workers
    Multi,
}

impl Flavor {
    pub fn tag(self) -> &'static str {
        match self {
            Flavor::Current => "ct",
            Flavor::Multi => "mt",
        }
    }

    pub fn runtime(self) -> tokio::runtime::Runtime {
        let mut builder = match self {
            Flavor::Current => tokio::runtime::Builder::new_current_thread(),
            Flavor::Multi => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
        };
        builder.enable_all().build().expect("runtime")
    }

    /// Runs `body` to completion on a fresh runtime of this flavor. On the multi-thread one it
    /// runs as a task on a worker (as a supervisor's loop does), not on the blocked caller.
    pub fn block_on<F>(self, body: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let runtime = self.runtime();
        match self {
            Flavor::Current => runtime.block_on(body),
            Flavor::Multi => runtime.block_on(async { tokio::spawn(body).await.expect("cell") }),
        }
    }
}

/// The figures of one cell run, by name.
pub type Figures = BTreeMap<String, f64>;

/// One measurement: `run` makes its figures on a fresh runtime of `flavor`.
pub struct Cell {
    pub name: String,
    pub flavor: Flavor,
    pub run: Box<dyn Fn(Flavor) -> Figures>,
}

impl Cell {
    pub fn new(name: &str, flavor: Flavor, run: impl Fn(Flavor) -> Figures + 'static) -> Self {
        Cell {
            name: format!("{name}/{}", flavor.tag()),
            flavor,
            run: Box::new(run),
        }
    }
}

pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

pub fn arg_or(name: &str, default: usize) -> usize {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs the cell named by `--cell`, or every cell (filtered by `--only PREFIX`) `--runs`
/// times in fresh processes; returns each cell's median figures, by cell name.
pub fn run(cells: Vec<Cell>) -> Option<BTreeMap<String, Figures>> {
    // Panics are some scenarios' subject (their message is "bench"), not news.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"bench") {
            report(info);
        }
    }));
    if let Some(name) = arg("--cell") {
        let cell = cells.iter().find(|c| c.name == name).expect("no such cell");
        let figures = (cell.run)(cell.flavor);
        let line: Vec<String> = figures.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("RESULT {}", line.join(" "));
        return None;
    }
    let runs = arg_or("--runs", 5);
    let only = arg("--only").unwrap_or_default();
    let exe = std::env::current_exe().expect("current exe");
    let mut medians = BTreeMap::new();
    for cell in cells.iter().filter(|c| c.name.starts_with(&only)) {
        let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for _ in 0..runs {
            let mut command = Command::new(&exe);
            command.args(["--cell", &cell.name]);
            for pass in ["--children"] {
                if let Some(value) = arg(pass) {
                    command.args([pass, &value]);
                }
            }
            let output = command.output().expect("run a cell");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
                eprintln!(
                    "cell {} failed: {}",
                    cell.name,
                    String::from_utf8_lossy(&output.stderr)
                );
                break;
            };
            for pair in line.split_whitespace() {
                if let Some((key, value)) = pair.split_once('=') {
                    let value: f64 = value.parse().unwrap_or(f64::NAN);
                    samples.entry(key.to_owned()).or_default().push(value);
                }
            }
        }
        let figures: Figures = samples
            .into_iter()
            .map(|(key, values)| (key, median(values)))
            .collect();
        eprintln!("{:<28} {:?}", cell.name, figures);
        medians.insert(cell.name.clone(), figures);
    }
    Some(medians)
}

pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The value at quantile `q` (0..=1) of `values`, sorted here.
pub fn quantile(values: &mut [Duration], q: f64) -> Duration {
    values.sort();
    let last = values.len().saturating_sub(1);
    values[((last as f64) * q).round() as usize]
}

pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A markdown table: one row per scenario, one column per contender.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn print(&self) {
        println!("| {} |", self.header.join(" | "));
        println!(
            "|{}|",
            self.header
                .iter()
                .map(|_| "---")
                .collect::<Vec<_>>()
                .join("|")
        );
        for row in &self.rows {
            println!("| {} |", row.join(" | "));
        }
    }
}

/// `value unit (ratio×)` against `floor`, or `n/a` when either is missing.
pub fn against(value: Option<f64>, floor: Option<f64>, unit: &str) -> String {
    match (value, floor) {
        (Some(v), Some(f)) if v.is_finite() && f.is_finite() && f > 0.0 => {
            format!("{} {unit} ({:.2}×)", figure(v), v / f)
        }
        (Some(v), _) if v.is_finite() => format!("{} {unit}", figure(v)),
        _ => "n/a".to_owned(),
    }
}

/// Three significant figures, the way the table reads best.
pub fn figure(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
