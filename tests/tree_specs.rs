//! Declaring trees: validation errors that name the problem, orders, equality.

mod common;

use std::time::Duration;

use common::{idle, plain_backoff};
use supervisor::error::{SpecError, SupervisorError};
use supervisor::prelude::*;

fn build(children: Vec<ChildSpec>) -> Result<SupervisorSpec, SpecError> {
    SupervisorSpec::builder("bot").children(children).build()
}

#[test]
fn duplicate_child_names_are_rejected() {
    let err = build(vec![idle("feed"), idle("feed")]).unwrap_err();
    assert_eq!(
        err,
        SpecError::DuplicateName {
            supervisor: "bot".into(),
            name: "feed".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "`bot` has two children named `feed`; sibling names must be unique"
    );
}

#[test]
fn an_unknown_dependency_is_rejected_with_a_suggestion() {
    let err = build(vec![
        idle("market_feed"),
        idle("router").after(["market_fed"]),
    ])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`bot/router` depends on `market_fed`, which is not a child of `bot`; did you mean `market_feed`?"
    );
    let far = build(vec![idle("market_feed"), idle("router").after(["risk"])]).unwrap_err();
    assert!(
        far.to_string()
            .ends_with("; dependencies must name siblings"),
        "{far}"
    );
}

#[test]
fn a_dependency_cycle_names_the_whole_cycle() {
    let err = build(vec![
        idle("a").after(["c"]),
        idle("b").after(["a"]),
        idle("c").after(["b"]),
        idle("d"),
    ])
    .unwrap_err();
    assert_eq!(
        err,
        SpecError::DependencyCycle {
            supervisor: "bot".into(),
            cycle: vec!["a".into(), "c".into(), "b".into(), "a".into()],
        }
    );
    assert_eq!(
        err.to_string(),
        "dependency cycle in `bot`: a -> c -> b -> a"
    );
    let own = build(vec![idle("a").after(["a"])]).unwrap_err();
    assert_eq!(own.to_string(), "dependency cycle in `bot`: a -> a");
}

#[test]
fn empty_names_are_rejected() {
    assert_eq!(
        SupervisorSpec::builder("").build().unwrap_err().to_string(),
        "a supervisor name must not be empty"
    );
    assert_eq!(
        build(vec![idle("")]).unwrap_err().to_string(),
        "a child of `bot` has an empty name"
    );
}

#[test]
fn zero_limits_and_contradictions_are_rejected_naming_the_field() {
    let field = |result: Result<SupervisorSpec, SpecError>| match result.unwrap_err() {
        SpecError::Invalid { path, error } => format!("{path}: {}", error.field()),
        other => panic!("expected Invalid, got {other}"),
    };
    let builder = || SupervisorSpec::builder("bot");
    assert_eq!(
        field(builder().intensity(0, Duration::from_secs(1)).build()),
        "bot: intensity.max_restarts"
    );
    assert_eq!(
        field(builder().intensity(3, Duration::ZERO).build()),
        "bot: intensity.within"
    );
    assert_eq!(
        field(builder().shutdown_timeout(Duration::ZERO).build()),
        "bot: shutdown_timeout"
    );
    let child = |spec: ChildSpec| field(build(vec![spec]));
    assert_eq!(
        child(idle("x").with_readiness(Readiness::Explicit {
            timeout: Duration::ZERO
        })),
        "bot/x: readiness.timeout"
    );
    assert_eq!(
        child(idle("x").with_heartbeat_timeout(Duration::ZERO)),
        "bot/x: heartbeat.stale_after"
    );
    assert_eq!(
        child(idle("x").with_shutdown(ShutdownPolicy::Timeout(Duration::ZERO))),
        "bot/x: shutdown"
    );
    assert_eq!(
        child(idle("x").with_backoff(BackoffConfig::new(
            Duration::from_secs(2),
            Duration::from_secs(1)
        ))),
        "bot/x: backoff.base"
    );
    assert_eq!(
        child(
            idle("x")
                .with_restart(RestartPolicy::Always)
                .significant(true)
        ),
        "bot/x: significant"
    );
}

#[test]
fn orders_follow_dependencies_then_declaration() {
    let spec = build(vec![
        idle("router").after(["risk", "feed"]),
        idle("poller"),
        idle("risk").after(["feed"]),
        idle("feed"),
    ])
    .unwrap();
    assert_eq!(spec.startup_order(), ["poller", "feed", "risk", "router"]);
    assert_eq!(spec.shutdown_order(), ["router", "risk", "feed", "poller"]);
}

fn tree(router_timeout: u64) -> SupervisorSpec {
    let execution = SupervisorSpec::builder("execution")
        .strategy(Strategy::RestForOne)
        .child(
            idle("order_router")
                .with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(router_timeout))),
        )
        .child(
            idle("fill_tracker")
                .after(["order_router"])
                .with_tag("fills"),
        )
        .build()
        .unwrap();
    SupervisorSpec::builder("bot")
        .intensity(10, Duration::from_secs(60))
        .child(idle("market_feed").with_backoff(plain_backoff(100, 30_000)))
        .child(ChildSpec::supervisor(execution))
        .build()
        .unwrap()
}

#[test]
fn specs_compare_by_declared_values_not_by_closure() {
    assert_eq!(tree(5), tree(5));
    assert_ne!(tree(5), tree(6));
    // Different closures, same declaration: equal.
    let a = service_fn("x", |_| async {});
    let b = service_fn("x", |ctx| async move { ctx.cancelled().await });
    assert_eq!(a, b);
    assert_ne!(a, b.clone().with_restart(RestartPolicy::Never));
    let debug = format!("{:?}", tree(5));
    assert!(debug.contains("name: \"order_router\""), "{debug}");
    assert!(debug.contains("strategy: RestForOne"), "{debug}");
}

#[test]
fn policy_names_parse() {
    assert_eq!("rest_for_one".parse(), Ok(Strategy::RestForOne));
    assert_eq!("all_significant".parse(), Ok(AutoShutdown::AllSignificant));
    let err = "one-for-all".parse::<Strategy>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown strategy `one-for-all`; valid values: one_for_one, one_for_all, rest_for_one"
    );
}

#[test]
fn starting_outside_a_runtime_is_an_error_not_a_panic() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let mut start = std::pin::pin!(Supervisor::start(tree(5)));
    let polled = start.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert!(matches!(
        polled,
        Poll::Ready(Err(SupervisorError::NoRuntime))
    ));
}
