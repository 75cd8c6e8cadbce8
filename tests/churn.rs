//! Churn does not grow memory: 100,000 children added at run time and ended (temporary ones
//! that complete, and removed ones) leave the live heap, counted by this binary's allocator,
//! and the supervisor's child count where they were after a warm-up.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use common::*;
use supervisor::prelude::*;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller promised for `layout`.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn job() -> ChildSpec {
    service_fn("job", |_| async {}).with_restart(RestartPolicy::Never)
}

fn idle() -> ChildSpec {
    service_fn(
        "idle",
        |ctx: TaskContext| async move { ctx.cancelled().await },
    )
}

/// One temporary child that completes, and one that is added and removed.
async fn cycle(tree: &SupervisorHandle) {
    tree.add_child("bot", job(), "test", "churn").await.unwrap();
    run_for(1).await;
    tree.add_child("bot", idle(), "test", "churn")
        .await
        .unwrap();
    tree.remove_child("bot/idle", "test", "churn")
        .await
        .unwrap();
    run_for(1).await;
}

#[tokio::test(start_paused = true)]
async fn adding_and_ending_100_000_children_returns_memory_and_slots() {
    let spec = SupervisorSpec::builder("bot")
        .max_dynamic_children(4)
        .child(idle().with_name("feed"))
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    // Warm-up: every buffer reaches the size this churn needs.
    for _ in 0..1_000 {
        cycle(&tree).await;
    }
    let counts = tree.count_children("bot").await.unwrap();
    let baseline = LIVE.load(Ordering::Relaxed);
    for _ in 0..50_000 {
        cycle(&tree).await;
    }
    let after = LIVE.load(Ordering::Relaxed);
    assert_eq!(tree.count_children("bot").await.unwrap(), counts);
    assert_eq!(counts.specs, 1);
    // 100,000 children came and went; what is left is exactly what was there before them.
    assert_eq!(
        after - baseline,
        0,
        "live heap moved by {} bytes",
        after - baseline
    );
    tree.shutdown_tree("test", "done").await;
}
