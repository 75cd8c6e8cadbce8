//! `supervisor!` evaluates to the same spec as the hand-written builder, with its orders known
//! at compile time.

mod common;

use std::time::Duration;

use common::*;
use supervisor::prelude::*;

#[derive(Clone)]
enum Venue {
    Binance,
    Coinbase,
}

#[service(
    restart = "on_failure",
    backoff(base = "100ms", max = "30s"),
    circuit_breaker(max_failures = 5, within = "60s")
)]
async fn market_feed(ctx: TaskContext, venue: Venue) -> anyhow::Result<()> {
    let _ = venue;
    ctx.cancelled().await;
    Ok(())
}

#[service(
    name = "risk-engine",
    restart = "always",
    readiness = "explicit",
    startup_timeout = "5s"
)]
async fn risk_engine(ctx: TaskContext) {
    ctx.ready();
    ctx.cancelled().await;
}

#[service(shutdown(timeout = "3s"))]
async fn order_router(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service(name = "feed")]
async fn primary_feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service(name = "feed")]
async fn backup_feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn declared() -> DeclaredTree {
    supervisor! {
        name = "bot",
        strategy = "one_for_one",
        intensity(max_restarts = 5, within = "30s"),
        shutdown_timeout = "2s",
        market_feed(Venue::Binance),
        coinbase: market_feed(Venue::Coinbase),
        risk_engine() after(market_feed, coinbase),
        heartbeat = |ctx: TaskContext| async move { ctx.cancelled().await } with(restart = "always"),
        supervisor execution(strategy = "rest_for_one", intensity(max_restarts = 3, within = "10s")) {
            order_router() with(shutdown = "brutal_kill"),
            fills = |ctx: TaskContext| async move { ctx.cancelled().await } requires(order_router),
            audit = |ctx: TaskContext| async move { ctx.cancelled().await } after(order_router) requires(fills),
        } after(risk_engine),
    }
}

fn hand_built() -> SupervisorSpec {
    let feed_backoff = BackoffConfig::new(Duration::from_millis(100), Duration::from_secs(30))
        .with_circuit_breaker(5, Duration::from_secs(60));
    let feed = |name: &str| {
        service_fn(name.to_owned(), |_| async {})
            .with_restart(RestartPolicy::OnFailure)
            .with_backoff(feed_backoff)
    };
    let idle = |name: &str| service_fn(name.to_owned(), |_| async {});
    let execution = SupervisorSpec::builder("execution")
        .strategy(Strategy::RestForOne)
        .intensity(3, Duration::from_secs(10))
        .child(
            idle("order_router")
                .with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(3)))
                .with_shutdown(ShutdownPolicy::BrutalKill),
        )
        .child(idle("fills").requires(["order_router"]))
        .child(idle("audit").after(["order_router"]).requires(["fills"]))
        .build()
        .unwrap();
    SupervisorSpec::builder("bot")
        .strategy(Strategy::OneForOne)
        .intensity(5, Duration::from_secs(30))
        .shutdown_timeout(Duration::from_secs(2))
        .child(feed("market_feed"))
        .child(feed("coinbase"))
        .child(
            idle("risk-engine")
                .with_restart(RestartPolicy::Always)
                .with_readiness(Readiness::Explicit {
                    timeout: Duration::from_secs(5),
                })
                .after(["market_feed", "coinbase"]),
        )
        .child(idle("heartbeat").with_restart(RestartPolicy::Always))
        .child(ChildSpec::supervisor(execution).after(["risk-engine"]))
        .build()
        .unwrap()
}

#[test]
fn the_macro_builds_the_same_spec_as_the_builder() {
    assert_eq!(declared().into_spec().unwrap(), hand_built());
}

#[test]
fn orders_are_static_and_match_the_runtime_ones() {
    let tree = declared();
    let startup: &'static [&'static str] = tree.startup_order();
    assert_eq!(
        startup,
        [
            "market_feed",
            "coinbase",
            "risk-engine",
            "heartbeat",
            "execution"
        ]
    );
    assert_eq!(
        tree.shutdown_order(),
        [
            "execution",
            "heartbeat",
            "risk-engine",
            "coinbase",
            "market_feed"
        ]
    );
    assert_eq!(tree.spec().unwrap().startup_order(), startup);
}

#[tokio::test(start_paused = true)]
async fn a_declared_tree_starts_and_shuts_down() {
    let handle = declared().start_with_config(test_config()).await.unwrap();
    run_for(100).await;
    let state = handle.current_state().await;
    assert!(
        state.iter().all(|c| c.phase == ServicePhase::Running),
        "{state}"
    );
    assert_eq!(state.find("bot/execution/fills").unwrap().attempt, 1);
    let report = handle.shutdown_tree("test", "done").await;
    assert_eq!(report.services.len(), 8);
}

#[tokio::test]
async fn two_services_declaring_one_name_are_reported_at_start() {
    // The keys differ; the runtime names clash, which only the build can see.
    let clash = supervisor! {
        name = "bot",
        primary_feed(),
        backup_feed(),
    };
    let error = clash.start_with_config(test_config()).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid supervision tree: `bot` has two children named `feed`; sibling names must be unique"
    );
}

#[tokio::test]
async fn settings_a_declared_tree_would_ignore_are_rejected() {
    for (config, field) in [
        (test_config().with_name("other"), "name"),
        (
            test_config().with_shutdown_timeout(Duration::from_secs(1)),
            "shutdown_timeout",
        ),
        (
            test_config().with_default_backoff(BackoffConfig::default()),
            "default_backoff",
        ),
    ] {
        match declared().start_with_config(config).await {
            Err(supervisor::error::SupervisorError::InvalidConfig(error)) => {
                assert_eq!(error.field(), field);
            }
            other => panic!("{field}: expected InvalidConfig, got {other:?}"),
        }
    }
    // The tree's own name is no contradiction.
    let tree = declared()
        .start_with_config(test_config().with_name("bot"))
        .await
        .unwrap();
    tree.shutdown_tree("test", "done").await;
}

#[test]
fn values_known_only_at_run_time_go_through_a_child_expression() {
    let backoff = BackoffConfig::new(Duration::from_millis(250), Duration::from_secs(9));
    let tree = supervisor! {
        name = "bot",
        feed = market_feed::spec(Venue::Binance).with_backoff(backoff),
    };
    let spec = tree.into_spec().unwrap();
    assert_eq!(spec.children()[0].name(), "feed");
    assert_eq!(spec.children()[0].backoff(), &backoff);
}

/// One order for the pool below.
#[derive(Clone, Debug, PartialEq)]
struct Order(u64);

#[service(restart = "never")]
async fn fill_order(ctx: TaskContext, order: Order, venue: Venue) {
    let _ = (order, venue);
    ctx.cancelled().await;
}

#[tokio::test(start_paused = true)]
async fn a_pool_declared_in_the_tree_starts_children_from_its_service_or_closure() {
    let tree = supervisor! {
        name = "bot",
        max_dynamic_children = 3,
        market_feed(Venue::Coinbase),
        pool fills(max = 2) = fill_order,
        pool audits(max = 1) = |order: Order| {
            service_fn("audit", move |ctx: TaskContext| {
                let order = order.clone();
                async move {
                    let _ = order;
                    ctx.cancelled().await;
                }
            })
        },
    };
    let spec = tree.spec().unwrap().clone();
    assert_eq!(spec.max_dynamic_children(), 3);
    let fills = spec.children()[1].nested().unwrap();
    assert!(fills.is_pool());
    assert_eq!(fills.max_dynamic_children(), 2);
    let handle = tree.start_with_config(test_config()).await.unwrap();
    let first = handle
        .start_child(
            "bot/fills",
            fill_order::Service(Order(7), Venue::Binance),
            "test",
            "order 7",
        )
        .await
        .unwrap();
    assert_eq!(first.path, "bot/fills/1");
    handle
        .start_child(
            "bot/fills",
            fill_order::Service(Order(8), Venue::Binance),
            "test",
            "order 8",
        )
        .await
        .unwrap();
    let full = handle
        .start_child(
            "bot/fills",
            fill_order::Service(Order(9), Venue::Binance),
            "test",
            "order 9",
        )
        .await;
    assert!(
        matches!(
            full,
            Err(supervisor::CommandError::TooManyChildren { max: 2, .. })
        ),
        "{full:?}"
    );
    // The pool takes its service's value, nothing else.
    let wrong = handle
        .start_child("bot/fills", Order(1), "test", "bare")
        .await;
    assert!(
        matches!(wrong, Err(supervisor::CommandError::WrongArguments { .. })),
        "{wrong:?}"
    );
    let audit = handle
        .start_child("bot/audits", Order(7), "test", "audit 7")
        .await
        .unwrap();
    run_for(10).await;
    let state = handle.current_state().await;
    for path in ["bot/fills/1", "bot/fills/2", audit.path.as_str()] {
        assert_eq!(
            state.find(path).unwrap().phase,
            ServicePhase::Running,
            "{path}"
        );
    }
    // Each pool child carries the service's declared policies.
    assert_eq!(handle.count_children("bot/fills").await.unwrap().active, 2);
    handle.shutdown_tree("test", "done").await;
}
