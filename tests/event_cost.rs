//! Recording events costs no allocation: a child that fails over and over allocates exactly as
//! much with the default journal (and no subscriber) as with no journal at all, where no event
//! is even built. Counted by this binary's allocator, so this file holds one test.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use supervisor::prelude::*;
use supervisor::{EventKind, LifecycleEvent};
use tokio::sync::Notify;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as the caller promised for `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const FAILURES: usize = 2_000;

/// Allocations made while a child fails `FAILURES` times (restarted at once each time), in a
/// tree keeping a journal of `journal` events, and the journal's last event.
async fn allocations_while_failing(journal: usize) -> (u64, Option<LifecycleEvent>) {
    let done = Arc::new(Notify::new());
    let attempts = Arc::new(AtomicUsize::new(0));
    let immediate = BackoffConfig::new(Duration::ZERO, Duration::from_nanos(1))
        .with_jitter(Jitter::None)
        .without_circuit_breaker();
    let feed = {
        let (done, attempts) = (Arc::clone(&done), Arc::clone(&attempts));
        service_fn("feed", move |ctx: TaskContext| {
            let (done, attempts) = (Arc::clone(&done), Arc::clone(&attempts));
            async move {
                if attempts.fetch_add(1, Ordering::Relaxed) < FAILURES {
                    return Err(ServiceError::from("connection reset"));
                }
                done.notify_one();
                ctx.cancelled().await;
                Ok(())
            }
        })
        .with_backoff(immediate)
    };
    let spec = SupervisorSpec::builder("bot")
        .intensity(FAILURES as u32 + 1, Duration::from_secs(60))
        .child(feed)
        .build()
        .unwrap();
    let config = test_config().with_journal_capacity(journal);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let tree = Supervisor::start_with_config(spec, config).await.unwrap();
    done.notified().await;
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let mut events = tree.subscribe_from(1);
    tree.shutdown_tree("test", "done").await;
    let mut last_backoff = None;
    while let Some(event) = events.next().await {
        if let Ok(
            event @ LifecycleEvent {
                kind: EventKind::BackingOff { .. },
                ..
            },
        ) = event
        {
            last_backoff = Some(event);
        }
    }
    (allocations, last_backoff)
}

#[tokio::test(start_paused = true)]
async fn recording_a_failure_cycle_in_the_journal_allocates_nothing() {
    // Warm-up: the runtime's own buffers reach their size.
    allocations_while_failing(0).await;
    allocations_while_failing(1024).await;
    let (unrecorded, nothing) = allocations_while_failing(0).await;
    let (recorded, last_backoff) = allocations_while_failing(1024).await;
    // Each failure emits four events (two phase changes, backing off with its message, the
    // next start); when the message was formatted for the event, that cost three allocations
    // per failure. What may differ is the runtime's own noise, far below one per failure.
    let per_failure = |n: u64| n as f64 / FAILURES as f64;
    assert!(
        recorded.abs_diff(unrecorded) < FAILURES as u64 / 100,
        "allocations per failure: {:.2} with the journal, {:.2} without",
        per_failure(recorded),
        per_failure(unrecorded)
    );
    // The journal did record, and the message reads as it was written.
    assert_eq!(nothing, None);
    let Some(LifecycleEvent {
        kind:
            EventKind::BackingOff {
                next_attempt,
                cause,
                ..
            },
        ..
    }) = last_backoff
    else {
        panic!("no backoff recorded")
    };
    assert_eq!(next_attempt, FAILURES as u32 + 1);
    assert_eq!(cause.as_deref(), Some("connection reset"));
}
