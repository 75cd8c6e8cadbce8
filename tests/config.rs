//! Configuration files (feature `config`): the checked-in schema, template and example are
//! current and valid; overrides reach the child at their path, seen in its state and
//! behaviour; no input makes the loader panic.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use proptest::prelude::{Just, ProptestConfig, any, prop, prop_oneof, proptest};
use proptest::strategy::Strategy as Generate;
use supervisor::config::{TreeConfig, json_schema};
use supervisor::prelude::*;
use supervisor::{HealthStatus, ServicePhase, StopOutcome};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config");

#[test]
fn the_checked_in_schema_is_the_generated_one() {
    let path = format!("{EXAMPLES}/supervisor.schema.json");
    let generated = json_schema();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{path} is not the schema the types generate: rerun with UPDATE_SCHEMA=1 and review it"
    );
}

/// The template with every commented-out setting uncommented (prose comments stay comments).
fn uncommented_template() -> String {
    let template = std::fs::read_to_string(format!("{EXAMPLES}/supervisor.template.yaml")).unwrap();
    template
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if is_setting(rest) => rest.to_owned(),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `key:` or `  key:` with a lowercase key: a setting, not prose.
fn is_setting(line: &str) -> bool {
    let key = line.trim_start();
    key.split_once(':').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '/')
    })
}

/// Every property path the schema describes (`policy.backoff.base`), `children` entries as
/// `children.*`.
fn schema_fields() -> Vec<String> {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    let mut fields = Vec::new();
    let mut stack = vec![(String::new(), schema.clone())];
    while let Some((path, node)) = stack.pop() {
        let node = resolve(&schema, &node);
        let alternatives = node.get("anyOf").or_else(|| node.get("oneOf"));
        for alternative in alternatives
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
        {
            stack.push((path.clone(), alternative.clone()));
        }
        if let Some(properties) = node.get("properties").and_then(|p| p.as_object()) {
            for (name, property) in properties {
                let field = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                fields.push(field.clone());
                stack.push((field, property.clone()));
            }
        }
        if let Some(entry) = node.get("additionalProperties").filter(|a| a.is_object()) {
            stack.push((format!("{path}.*"), entry.clone()));
        }
    }
    fields.sort();
    fields.dedup();
    fields
}

fn resolve(root: &serde_json::Value, node: &serde_json::Value) -> serde_json::Value {
    match node
        .get("$ref")
        .and_then(|r| r.as_str())
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => root["$defs"][name].clone(),
        None => node.clone(),
    }
}

#[test]
fn the_template_sets_every_field_of_the_schema_and_is_valid() {
    let text = uncommented_template();
    let config = TreeConfig::from_yaml(&text, "template").unwrap_or_else(|e| panic!("{e}"));
    // Every field of a child entry appears under `children` (for some child).
    let missing: Vec<String> = schema_fields()
        .into_iter()
        .filter(|field| {
            let written = |path: &str| config.position(path).is_some();
            match field.strip_prefix("children.*.") {
                Some(rest) => {
                    !["bot/execution/order_router", "bot/execution"]
                        .iter()
                        .any(|child| written(&format!("children.{child}.{rest}")))
                        && !written(&format!("policy.{rest}"))
                }
                None => !field.contains('*') && !written(field),
            }
        })
        .collect();
    assert!(missing.is_empty(), "the template lacks {missing:?}");
    // And it fits a tree with the paths it names.
    config.apply(bot_with_execution()).unwrap();
}

#[test]
fn the_example_file_fits_the_example_tree() {
    let config = TreeConfig::load(format!("{EXAMPLES}/bot.yaml")).unwrap();
    let configured = config.apply(bot_with_execution()).unwrap();
    let feed = configured
        .spec
        .children()
        .iter()
        .find(|c| c.name() == "market_feed")
        .unwrap();
    assert_eq!(feed.backoff().base(), Duration::from_millis(50));
}

fn bot_with_execution() -> SupervisorSpec {
    let execution = SupervisorSpec::builder("execution")
        .child(idle("order_router"))
        .build()
        .unwrap();
    SupervisorSpec::builder("bot")
        .child(idle("market_feed"))
        .child(idle("risk_engine"))
        .child(ChildSpec::supervisor(execution))
        .build()
        .unwrap()
}

/// A child that fails on every attempt, counting them.
fn failing(name: &'static str, attempts: &Arc<AtomicU32>) -> ChildSpec {
    let attempts = Arc::clone(attempts);
    service_fn(name, move |_ctx| {
        attempts.fetch_add(1, Ordering::SeqCst);
        async { Err::<(), _>(std::io::Error::other("down")) }
    })
    .with_backoff(plain_backoff(1_000, 1_000))
}

async fn start(spec: SupervisorSpec, yaml: &str) -> SupervisorHandle {
    let file = TreeConfig::from_yaml(yaml, "test.yaml").unwrap_or_else(|e| panic!("{e}"));
    Supervisor::start_configured(spec, &file, test_config())
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_restart_override_reaches_its_child_only() {
    let (a, b) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let spec = SupervisorSpec::builder("bot")
        .child(failing("feed", &a))
        .child(failing("poller", &b))
        .build()
        .unwrap();
    let tree = start(spec, "children:\n  bot/feed: { restart: never }\n").await;
    run_for(3_500).await;
    let state = tree.current_state().await;
    let feed = state.find("bot/feed").unwrap();
    assert_eq!((feed.phase, feed.attempt), (ServicePhase::Terminated, 1));
    // The code's backoff (1 s, no jitter) still rules the other: attempts at 0, 1, 2, 3 s.
    assert_eq!(b.load(Ordering::SeqCst), 4);
    assert_eq!(a.load(Ordering::SeqCst), 1);
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn the_file_backoff_and_breaker_replace_the_code_ones() {
    let attempts = Arc::new(AtomicU32::new(0));
    let spec = SupervisorSpec::builder("bot")
        .child(failing("feed", &attempts))
        .build()
        .unwrap();
    let tree = start(
        spec,
        "policy:\n  backoff: { base: 50ms, max: 200ms, jitter: none }\n  circuit_breaker: { max_failures: 4, within: 10s }\n",
    )
    .await;
    // Attempts at 0, 50, 150 (50 + 100), 350 (+ 200) ms; the fourth failure opens the breaker.
    run_for(349).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    run_for(10_000).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 4);
    let state = tree.current_state().await;
    let feed = state.find("bot/feed").unwrap();
    assert_eq!(feed.phase, ServicePhase::Terminated);
    assert!(
        feed.last_exit
            .as_deref()
            .unwrap_or_default()
            .contains("circuit breaker"),
        "{feed:?}"
    );
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn a_nested_supervisors_strategy_comes_from_its_entry() {
    let (router, tracker) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let starts = |counter: &Arc<AtomicU32>, name: &'static str, fail_first: bool| {
        let counter = Arc::clone(counter);
        service_fn(name, move |ctx| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if fail_first && n == 0 {
                    return Err(std::io::Error::other("venue closed"));
                }
                ctx.cancelled().await;
                Ok(())
            }
        })
        .with_backoff(plain_backoff(10, 10))
    };
    let execution = SupervisorSpec::builder("execution")
        .child(starts(&router, "order_router", true))
        .child(starts(&tracker, "fill_tracker", false))
        .build()
        .unwrap();
    let spec = SupervisorSpec::builder("bot")
        .child(ChildSpec::supervisor(execution))
        .build()
        .unwrap();
    // In code one_for_one: the tracker would run on. The file makes it one_for_all.
    let tree = start(
        spec,
        "children:\n  bot/execution:\n    supervisor: { strategy: one_for_all }\n",
    )
    .await;
    run_for(1_000).await;
    assert_eq!(router.load(Ordering::SeqCst), 2);
    assert_eq!(
        tracker.load(Ordering::SeqCst),
        2,
        "restarted with the router"
    );
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn a_heartbeat_limit_from_the_file_restarts_a_silent_child() {
    let spec = SupervisorSpec::builder("bot")
        .child(idle("feed"))
        .child(idle("poller"))
        .build()
        .unwrap();
    let tree = start(
        spec,
        "children:\n  bot/feed: { heartbeat: { stale_after: 2s } }\n",
    )
    .await;
    run_for(3_000).await;
    let state = tree.current_state().await;
    let feed = state.find("bot/feed").unwrap();
    assert_eq!(feed.attempt, 2, "{feed:?}");
    assert_eq!(feed.last_failure.as_deref(), Some("no heartbeat for 2.00s"));
    let poller = state.find("bot/poller").unwrap();
    assert_eq!(
        (poller.attempt, poller.health.clone()),
        (1, HealthStatus::Healthy)
    );
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn the_graceful_timeout_and_a_childs_shutdown_come_from_the_file() {
    // Both ignore cancellation: each is aborted when its own timeout runs out.
    let stubborn = |name: &'static str| {
        service_fn(name, |_ctx| std::future::pending::<()>())
            .with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(30)))
    };
    let spec = SupervisorSpec::builder("bot")
        .child(stubborn("feed"))
        .child(service_fn("poller", |_ctx| std::future::pending::<()>()))
        .build()
        .unwrap();
    let tree = start(
        spec,
        "shutdown: { graceful_timeout: 3s }\nchildren:\n  bot/feed: { shutdown: { timeout: 1s } }\n",
    )
    .await;
    let began = tokio::time::Instant::now();
    let report = tree.shutdown_tree("test", "done").await;
    assert_eq!(
        began.elapsed(),
        Duration::from_secs(3),
        "the poller waits the file's 3 s"
    );
    assert_eq!(
        outcomes(&report),
        [
            ("bot/feed", StopOutcome::Aborted),
            ("bot/poller", StopOutcome::Aborted)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_journal_capacity_comes_from_the_file() {
    for (yaml, replayed) in [
        ("", true),
        ("observability: { journal_capacity: 0 }\n", false),
    ] {
        let spec = SupervisorSpec::builder("bot")
            .child(idle("feed"))
            .build()
            .unwrap();
        let tree = start(spec, yaml).await;
        tree.shutdown_tree("test", "done").await;
        // After the end: only what the journal kept.
        let mut replay = tree.subscribe_from(0);
        assert_eq!(replay.next().await.is_some(), replayed, "{yaml:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn per_child_metrics_can_be_turned_off_in_the_file() {
    for (yaml, listed) in [("", 1), ("observability: { child_metrics: false }\n", 0)] {
        let spec = SupervisorSpec::builder("bot")
            .child(idle("feed"))
            .build()
            .unwrap();
        let tree = start(spec, yaml).await;
        let metrics = tree.metrics().snapshot();
        assert_eq!(
            (metrics.spawned_total, metrics.children.len()),
            (1, listed),
            "{yaml:?}"
        );
        tree.shutdown_tree("test", "done").await;
    }
}

static FLAKY_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// In code: restarted after every failure, 100 ms apart.
#[service(
    restart = "always",
    backoff(base = "100ms", max = "100ms", jitter = "none")
)]
async fn flaky(_ctx: TaskContext) -> std::io::Result<()> {
    FLAKY_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    Err(std::io::Error::other("down"))
}

#[service]
async fn steady(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[tokio::test(start_paused = true)]
async fn a_tree_from_the_dsl_takes_the_file_over_its_service_options_and_overrides() {
    let file = TreeConfig::from_yaml(
        "children:\n  bot/flaky: { restart: never }\n  bot/steady: { restart: never }\n",
        "bot.yaml",
    )
    .unwrap();
    // The tree's own override (`with`) is code too: the file still wins.
    let tree = supervisor! { name = "bot", flaky() with(restart = "on_failure"), steady() }
        .start_configured(&file, test_config())
        .await
        .unwrap();
    run_for(1_000).await;
    assert_eq!(FLAKY_ATTEMPTS.load(Ordering::SeqCst), 1, "never restarted");
    let state = tree.current_state().await;
    assert_eq!(
        state.find("bot/flaky").unwrap().phase,
        ServicePhase::Terminated
    );
    assert_eq!(
        state.find("bot/steady").unwrap().phase,
        ServicePhase::Running
    );
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test(start_paused = true)]
async fn a_file_that_does_not_fit_the_tree_starts_nothing() {
    let attempts = Arc::new(AtomicU32::new(0));
    let spec = SupervisorSpec::builder("bot")
        .child(failing("feed", &attempts))
        .build()
        .unwrap();
    let file =
        TreeConfig::from_yaml("children:\n  bot/fed: { restart: never }\n", "t.yaml").unwrap();
    let error = Supervisor::start_configured(spec, &file, test_config())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, supervisor::error::SupervisorError::ConfigFile(e) if e.problems().len() == 1),
        "{error}"
    );
    assert!(error.to_string().contains("t.yaml:2:3"), "{error}");
    run_for(100).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 0);
}

/// YAML documents made of the file's own vocabulary, in any shape: close to real files, so
/// that the checks below them run too.
fn documents() -> impl Generate<Value = String> {
    let key = prop_oneof![
        Just("supervisor"),
        Just("policy"),
        Just("shutdown"),
        Just("observability"),
        Just("children"),
        Just("strategy"),
        Just("intensity"),
        Just("max_restarts"),
        Just("within"),
        Just("restart"),
        Just("backoff"),
        Just("base"),
        Just("max"),
        Just("jitter"),
        Just("reset_after"),
        Just("circuit_breaker"),
        Just("enabled"),
        Just("max_failures"),
        Just("on_open"),
        Just("heartbeat"),
        Just("stale_after"),
        Just("timeout"),
        Just("graceful_timeout"),
        Just("journal_capacity"),
        Just("bot/market_feed"),
        Just("bot/execution"),
        Just("x"),
    ];
    let scalar = prop_oneof![
        Just("one_for_all".to_owned()),
        Just("never".to_owned()),
        Just("brutal_kill".to_owned()),
        Just("250ms".to_owned()),
        Just("0s".to_owned()),
        Just("8761h".to_owned()),
        Just("1.99999999999999999999999999999h".to_owned()),
        Just("~".to_owned()),
        Just("true".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-z0-9.]{0,6}",
        Just("[1, 2]".to_owned()),
        Just("*a".to_owned()),
    ];
    scalar.prop_recursive(4, 32, 6, move |inner| {
        prop::collection::vec((key.clone(), inner), 0..6).prop_map(|entries| {
            let body: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            format!("{{ {} }}", body.join(", "))
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_yield_a_config_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = TreeConfig::from_yaml_bytes(&bytes, "fuzz");
    }

    #[test]
    fn arbitrary_documents_yield_a_config_or_an_error_and_apply_cleanly(text in documents()) {
        if let Ok(config) = TreeConfig::from_yaml(&text, "fuzz") {
            let _ = config.apply(bot_with_execution());
        }
    }
}
