//! S1–S4 side by side: raw tokio, our two front doors, ractor, kameo and
//! tokio-graceful-shutdown, by the method of `benches/README.md`.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml [-- --runs N --children N
//! --only PREFIX]`. Every cell runs in a fresh process, `--runs` times (5 by default); the
//! tables show medians and their ratio to the raw-tokio floor of the same run. The floors and
//! our front doors are `benches/supervision.rs` itself, built here as a module, so both
//! benches measure the same code the same way.

#[allow(dead_code, unused_imports)]
#[path = "../../supervision.rs"]
mod ours;

use std::sync::Arc;
use std::time::Duration;

use ours::harness::{self, Cell, Figures, Flavor, Table, against};
use ours::{ATTEMPTS, Fleet, Marks, OnDrop, fail};
use tokio::sync::Notify;

/// What one restart child is told: where to mark, whom to wake when the last attempt runs,
/// and whether to fail by panicking.
#[derive(Clone)]
struct Restarts {
    marks: Marks,
    done: Arc<Notify>,
    panic: bool,
}

impl Restarts {
    fn new(panic: bool) -> Self {
        Restarts {
            marks: Marks::new(),
            done: Arc::new(Notify::new()),
            panic,
        }
    }

    /// An attempt's body: its first statement, then failing, or (the last one) staying.
    /// Returns `Ok(true)` for the attempt that stays.
    async fn attempt(&self) -> Result<bool, std::io::Error> {
        if self.marks.first() == ATTEMPTS {
            self.done.notify_one();
            return Ok(true);
        }
        fail(&self.marks, self.panic).await.map(|()| false)
    }

    /// Waits for the last attempt, then the figures.
    async fn figures(&self) -> Figures {
        self.done.notified().await;
        self.marks.figures()
    }
}

// ---------------------------------------------------------------------------------------
// ractor: a supervisor actor respawns its linked child from `handle_supervisor_evt` (ractor
// has no restart policy of its own). The attempt's first statement is the child's
// `pre_start`; it fails in `post_start`.

mod with_ractor {
    use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

    use super::*;

    struct Child;

    impl Actor for Child {
        type Msg = ();
        type State = Restarts;
        type Arguments = Restarts;

        async fn pre_start(
            &self,
            _: ActorRef<()>,
            restarts: Restarts,
        ) -> Result<Restarts, ActorProcessingErr> {
            Ok(restarts)
        }

        async fn post_start(
            &self,
            _: ActorRef<()>,
            restarts: &mut Restarts,
        ) -> Result<(), ActorProcessingErr> {
            restarts.attempt().await?;
            Ok(())
        }
    }

    struct Parent;

    impl Actor for Parent {
        type Msg = ();
        type State = Restarts;
        type Arguments = Restarts;

        async fn pre_start(
            &self,
            myself: ActorRef<()>,
            restarts: Restarts,
        ) -> Result<Restarts, ActorProcessingErr> {
            Actor::spawn_linked(None, Child, restarts.clone(), myself.get_cell()).await?;
            Ok(restarts)
        }

        async fn handle_supervisor_evt(
            &self,
            myself: ActorRef<()>,
            event: SupervisionEvent,
            restarts: &mut Restarts,
        ) -> Result<(), ActorProcessingErr> {
            if let SupervisionEvent::ActorFailed(..) = event {
                Actor::spawn_linked(None, Child, restarts.clone(), myself.get_cell()).await?;
            }
            Ok(())
        }
    }

    pub fn restart(flavor: Flavor, panic: bool) -> Figures {
        flavor.block_on(async move {
            let restarts = Restarts::new(panic);
            let (parent, _) = Actor::spawn(None, Parent, restarts.clone())
                .await
                .expect("spawn");
            let figures = restarts.figures().await;
            parent.stop(None);
            figures
        })
    }

    struct Idle;

    impl Actor for Idle {
        type Msg = ();
        type State = OnDrop;
        type Arguments = Fleet;

        async fn pre_start(
            &self,
            _: ActorRef<()>,
            fleet: Fleet,
        ) -> Result<OnDrop, ActorProcessingErr> {
            fleet
                .started
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(OnDrop(Arc::clone(&fleet.dropped)))
        }
    }

    struct Holder;

    impl Actor for Holder {
        type Msg = ();
        type State = ();
        type Arguments = ();

        async fn pre_start(&self, _: ActorRef<()>, (): ()) -> Result<(), ActorProcessingErr> {
            Ok(())
        }
    }

    /// Idle actors linked to one parent; shut down by stopping the parent's children and
    /// waiting for them, then the parent.
    pub fn fleet(flavor: Flavor) -> Figures {
        let n = ours::children();
        flavor.block_on(Fleet::default().measure(
            n,
            move |fleet: Fleet| async move {
                let (parent, _) = Actor::spawn(None, Holder, ()).await.expect("spawn");
                for _ in 0..n {
                    Actor::spawn_linked(None, Idle, fleet.clone(), parent.get_cell())
                        .await
                        .expect("spawn");
                }
                parent
            },
            |parent| async move {
                parent.stop_children_and_wait(None, None).await;
                // It may be stopping already (on its own children's exits): either way it ends.
                let _ = parent.stop_and_wait(None, None).await;
                parent
            },
        ))
    }
}

// ---------------------------------------------------------------------------------------
// kameo: `supervise` with a permanent restart policy and a restart limit that cannot trip
// (its count only resets after a quiet window, so back-to-back restarts never reset it: the
// limit is `u32::MAX`). The attempt is the child's `on_start`, which fails.

mod with_kameo {
    use kameo::actor::{Actor, ActorRef, Spawn};
    use kameo::error::Infallible;
    use kameo::supervision::RestartPolicy;

    use super::*;

    #[derive(Clone)]
    struct Child(Restarts);

    impl Actor for Child {
        type Args = Self;
        type Error = std::io::Error;

        async fn on_start(child: Self, _: ActorRef<Self>) -> Result<Self, Self::Error> {
            child.0.attempt().await?;
            Ok(child)
        }
    }

    struct Parent;

    impl Actor for Parent {
        type Args = Option<Restarts>;
        type Error = Infallible;

        async fn on_start(
            restarts: Option<Restarts>,
            myself: ActorRef<Self>,
        ) -> Result<Self, Self::Error> {
            if let Some(restarts) = restarts {
                Child::supervise(&myself, Child(restarts))
                    .restart_policy(RestartPolicy::Permanent)
                    .restart_limit(u32::MAX, Duration::from_millis(1))
                    .spawn()
                    .await;
            }
            Ok(Parent)
        }
    }

    pub fn restart(flavor: Flavor, panic: bool) -> Figures {
        flavor.block_on(async move {
            let restarts = Restarts::new(panic);
            let parent = Parent::spawn(Some(restarts.clone()));
            let figures = restarts.figures().await;
            parent.kill();
            figures
        })
    }

    #[derive(Clone)]
    struct Idle(Fleet);

    struct Running(#[allow(dead_code)] OnDrop);

    impl Actor for Running {
        type Args = Idle;
        type Error = Infallible;

        async fn on_start(Idle(fleet): Idle, _: ActorRef<Self>) -> Result<Self, Self::Error> {
            fleet
                .started
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(Running(OnDrop(Arc::clone(&fleet.dropped))))
        }
    }

    /// Idle supervised actors under one parent; shut down by stopping the parent gracefully
    /// (which stops its children first) and waiting for it.
    pub fn fleet(flavor: Flavor) -> Figures {
        let n = ours::children();
        flavor.block_on(Fleet::default().measure(
            n,
            move |fleet: Fleet| async move {
                let parent = Parent::spawn(None);
                for _ in 0..n {
                    Running::supervise(&parent, Idle(fleet.clone()))
                        .spawn()
                        .await;
                }
                parent
            },
            |parent| async move {
                parent.stop_gracefully().await.expect("stop");
                parent.wait_for_shutdown().await;
                parent
            },
        ))
    }
}

// ---------------------------------------------------------------------------------------
// tokio-graceful-shutdown: it has no restarts; its documented way (example
// `12_subsystem_auto_restart`) is a keep-alive subsystem that starts the child as a nested
// subsystem with `CatchAndLocalShutdown` and joins it in a loop.

mod with_tgs {
    use tokio_graceful_shutdown::{ErrorAction, SubsystemBuilder, SubsystemHandle, Toplevel};
    use tokio_util::sync::CancellationToken;

    use super::*;

    pub fn restart(flavor: Flavor, panic: bool) -> Figures {
        flavor.block_on(async move {
            let restarts = Restarts::new(panic);
            let shutdown = CancellationToken::new();
            let keepalive = {
                let restarts = restarts.clone();
                async move |s: &mut SubsystemHandle| {
                    loop {
                        let restarts = restarts.clone();
                        let child = s.start(
                            SubsystemBuilder::new("child", async move |s: &mut SubsystemHandle| {
                                if restarts.attempt().await? {
                                    s.on_shutdown_requested().await;
                                }
                                Ok::<(), std::io::Error>(())
                            })
                            .on_failure(ErrorAction::CatchAndLocalShutdown)
                            .on_panic(ErrorAction::CatchAndLocalShutdown),
                        );
                        if child.join().await.is_ok() || s.is_shutdown_requested() {
                            return Ok::<(), std::io::Error>(());
                        }
                    }
                }
            };
            let toplevel = Toplevel::new_with_shutdown_token(
                async move |s: &mut SubsystemHandle| {
                    s.start(SubsystemBuilder::new("keepalive", keepalive));
                },
                shutdown.clone(),
            );
            let running = tokio::spawn(toplevel.handle_shutdown_requests(Duration::from_secs(10)));
            let figures = restarts.figures().await;
            shutdown.cancel();
            let _ = running.await;
            figures
        })
    }

    /// Idle subsystems under one toplevel; shut down through its token.
    pub fn fleet(flavor: Flavor) -> Figures {
        let n = ours::children();
        flavor.block_on(Fleet::default().measure(
            n,
            move |fleet: Fleet| async move {
                let shutdown = CancellationToken::new();
                let toplevel = Toplevel::new_with_shutdown_token(
                    async move |s: &mut SubsystemHandle| {
                        for i in 0..n {
                            let fleet = fleet.clone();
                            s.start(SubsystemBuilder::new(
                                format!("idle-{i}"),
                                async move |s: &mut SubsystemHandle| {
                                    fleet
                                        .started
                                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                    let _dropped = OnDrop(Arc::clone(&fleet.dropped));
                                    s.on_shutdown_requested().await;
                                    Ok::<(), std::io::Error>(())
                                },
                            ));
                        }
                    },
                    shutdown.clone(),
                );
                let running =
                    tokio::spawn(toplevel.handle_shutdown_requests(Duration::from_secs(60)));
                (running, shutdown)
            },
            |(running, shutdown)| async move {
                shutdown.cancel();
                running.await.expect("toplevel").expect("shutdown");
            },
        ))
    }
}

/// One contender's S2/S3 cell.
type Scenario = fn(Flavor) -> Figures;

const CONTENDERS: [&str; 6] = ["floor", "tree", "root", "ractor", "kameo", "tgs"];

fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for flavor in [Flavor::Current, Flavor::Multi] {
        for (scenario, panic) in [("s1", false), ("s4", true)] {
            let mut add = |who: &str, run: fn(Flavor, bool) -> Figures| {
                cells.push(Cell::new(&format!("{scenario}/{who}"), flavor, move |f| {
                    run(f, panic)
                }));
            };
            add("floor", ours::restart_floor);
            add("tree", ours::restart_tree);
            add("root", ours::restart_root);
            add("ractor", with_ractor::restart);
            add("kameo", with_kameo::restart);
            add("tgs", with_tgs::restart);
        }
        let fleets: [(&str, Scenario); 6] = [
            ("floor", ours::fleet_floor),
            ("tree", |f| ours::fleet_tree(f, false)),
            ("root", ours::fleet_root),
            ("ractor", with_ractor::fleet),
            ("kameo", with_kameo::fleet),
            ("tgs", with_tgs::fleet),
        ];
        for (who, run) in fleets {
            cells.push(Cell::new(&format!("s2/{who}"), flavor, run));
        }
    }
    cells
}

fn main() {
    let Some(medians) = harness::run(cells()) else {
        return;
    };
    for flavor in [Flavor::Current, Flavor::Multi] {
        let runtime = match flavor {
            Flavor::Current => "current-thread",
            Flavor::Multi => "multi-thread, 2 workers",
        };
        println!("\n### {runtime}\n");
        let mut header = vec!["scenario"];
        header.extend([
            "raw tokio",
            "declarative tree",
            "imperative root",
            "ractor 0.16",
            "kameo 0.22",
            "tokio-graceful-shutdown 0.20",
        ]);
        let mut table = Table::new(&header);
        let get = |scenario: &str, who: &str, key: &str| {
            medians
                .get(&format!("{scenario}/{who}/{}", flavor.tag()))
                .and_then(|f| f.get(key))
                .copied()
        };
        for (name, scenario, key, unit) in [
            ("S1 restart after an error, p50", "s1", "p50_us", "µs"),
            ("S1 p99", "s1", "p99_us", "µs"),
            ("S4 restart after a panic, p50", "s4", "p50_us", "µs"),
            ("S2 start 100k idle children", "s2", "start_ms", "ms"),
            ("S2 heap bytes per idle child", "s2", "bytes", "B"),
            ("S3 shut down 100k idle children", "s2", "shutdown_ms", "ms"),
        ] {
            let floor = get(scenario, "floor", key);
            let mut row = vec![name.to_owned()];
            for who in CONTENDERS {
                let base = if who == "floor" { None } else { floor };
                row.push(against(get(scenario, who, key), base, unit));
            }
            table.row(row);
        }
        table.print();
    }
}
