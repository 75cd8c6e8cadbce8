use std::time::Duration;

use super::*;
use crate::{ChildSpec, RestartPolicy, ShutdownPolicy, Strategy, SupervisorSpec, service_fn};

/// The problems of `text`, one line each, without the file name.
fn problems(text: &str) -> Vec<String> {
    match TreeConfig::from_yaml(text, "bot.yaml") {
        Ok(config) => panic!("accepted: {config:?}"),
        Err(error) => lines(&error),
    }
}

fn lines(error: &ConfigFileError) -> Vec<String> {
    error
        .to_string()
        .lines()
        .skip(1)
        .map(|line| {
            line.trim()
                .trim_start_matches("bot.yaml:")
                .trim()
                .to_owned()
        })
        .collect()
}

fn idle(name: &'static str) -> ChildSpec {
    service_fn(name, |ctx| async move { ctx.cancelled().await })
}

/// bot: market_feed, risk_engine (code: restart never, base 1s), execution: order_router.
fn bot() -> SupervisorSpec {
    let execution = SupervisorSpec::builder("execution")
        .strategy(Strategy::RestForOne)
        .child(idle("order_router"))
        .build()
        .unwrap();
    SupervisorSpec::builder("bot")
        .child(idle("market_feed"))
        .child(
            idle("risk_engine")
                .with_restart(RestartPolicy::Never)
                .with_backoff(crate::BackoffConfig::new(
                    Duration::from_secs(1),
                    Duration::from_secs(10),
                )),
        )
        .child(ChildSpec::supervisor(execution))
        .build()
        .unwrap()
}

fn apply(text: &str) -> Result<Configured, ConfigFileError> {
    TreeConfig::from_yaml(text, "bot.yaml")
        .unwrap()
        .apply(bot())
}

#[test]
fn an_empty_file_changes_nothing() {
    for text in ["", "\n# nothing\n", "{}\n"] {
        let configured = apply(text).unwrap();
        assert!(configured.spec == bot(), "{text:?}");
    }
}

#[test]
fn unknown_fields_are_listed_with_the_closest_name_and_every_allowed_one() {
    assert_eq!(
        problems("policy:\n  restrat: never\nobservabilty: {}\n"),
        [
            "2:3: `policy.restrat`: unknown field (did you mean `restart`?); expected one of: \
             `backoff`, `circuit_breaker`, `heartbeat`, `restart`, `shutdown`",
            "3:1: `observabilty`: unknown field (did you mean `observability`?); expected one \
             of: `children`, `ipc`, `observability`, `policy`, `shutdown`, `supervisor`",
        ]
    );
}

#[test]
fn unknown_names_get_a_did_you_mean_and_the_valid_spellings() {
    assert_eq!(
        problems(
            "supervisor:\n  strategy: one_for_al\npolicy:\n  restart: sometimes\n  backoff:\n    jitter: fulll\n"
        ),
        [
            "2:13: `supervisor.strategy`: \"one_for_al\": unknown value (did you mean \
             `one_for_all`?); expected one of: `one_for_one`, `one_for_all`, `rest_for_one`",
            "4:12: `policy.restart`: \"sometimes\": unknown value; expected one of: `always`, \
             `on_failure`, `never`, `permanent`, `transient`, `temporary`",
            "6:13: `policy.backoff.jitter`: \"fulll\": unknown value (did you mean `full`?); \
             expected one of: `none`, `full`, `equal`",
        ]
    );
}

#[test]
fn zero_and_out_of_range_values_say_what_is_allowed() {
    assert_eq!(
        problems(
            "supervisor:\n  intensity: {max_restarts: 0, within: 0s}\npolicy:\n  circuit_breaker: {max_failures: 10001}\nobservability:\n  journal_capacity: 70000\n"
        ),
        [
            "2:29: `supervisor.intensity.max_restarts`: 0: out of range; expected a whole \
             number from 1 to 10000",
            "2:40: `supervisor.intensity.within`: invalid duration \"0s\": must be greater than \
             zero",
            "4:35: `policy.circuit_breaker.max_failures`: 10001: out of range; expected a whole \
             number from 1 to 10000",
            "6:21: `observability.journal_capacity`: 70000: out of range; expected a whole \
             number from 0 to 65536",
        ]
    );
}

#[test]
fn durations_follow_the_macros_rules() {
    assert_eq!(
        problems(
            "policy:\n  heartbeat: {stale_after: 5}\n  backoff: {base: 1y, max: 8761h}\n  shutdown: {timeout: -1s}\n"
        ),
        [
            "2:28: `policy.heartbeat.stale_after`: 5: expected a duration with a unit, e.g. \
             \"250ms\", \"5s\", \"10m\", found an integer (a bare number has no unit: quote it \
             with one, e.g. \"5s\")",
            "3:19: `policy.backoff.base`: invalid duration \"1y\": unknown unit `y`; expected a \
             number and a unit: ms, s, m or h (e.g. \"250ms\", \"1.5s\", \"5m\")",
            "3:28: `policy.backoff.max`: invalid duration \"8761h\": at most 365 days \
             (\"8760h\") are supported",
            "4:23: `policy.shutdown.timeout`: invalid duration \"-1s\": durations cannot be \
             negative; expected a number and a unit: ms, s, m or h (e.g. \"250ms\", \"1.5s\", \
             \"5m\")",
        ]
    );
}

#[test]
fn a_base_above_the_max_in_one_backoff_is_rejected() {
    assert_eq!(
        problems("children:\n  bot/market_feed:\n    backoff: {base: 10s, max: 1s}\n"),
        [
            "3:21: `children.bot/market_feed.backoff.base`: \"10s\": above the largest delay (1s); \
          base must be at most max"
        ]
    );
}

#[test]
fn wrong_types_and_shapes_are_named() {
    assert_eq!(
        problems("supervisor: 5\npolicy:\n  shutdown: brutal\n  heartbeat: {}\n"),
        [
            "1:13: `supervisor`: 5: expected a mapping, found an integer",
            "3:13: `policy.shutdown`: \"brutal\": unknown value; expected one of: \
             `brutal_kill`, `infinity`",
            "4:14: `policy.heartbeat.stale_after`: missing; it is required here",
        ]
    );
    assert_eq!(problems("- 1\n"), ["1:1: expected a mapping, found a list"]);
}

#[test]
fn not_yaml_is_one_problem_at_the_parser_position() {
    assert_eq!(problems("policy: [1\n"), ["1:9: unclosed bracket '['"]);
    assert_eq!(
        problems("policy: {}\npolicy: {}\n"),
        ["2:1: duplicate mapping key: policy"]
    );
    assert_eq!(
        problems("policy: {}\n---\npolicy: {}\n"),
        ["2:1: budget breached: Documents { documents: 2 }"]
    );
}

#[test]
fn an_alias_bomb_is_refused_by_the_budget() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let previous = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"
        ));
    }
    let problems = problems(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("budget breached"), "{problems:?}");
}

#[test]
fn bytes_that_are_not_utf8_are_one_problem() {
    let error = TreeConfig::from_yaml_bytes(b"policy: \xff\n", "bot.yaml").unwrap_err();
    assert_eq!(lines(&error), ["not UTF-8 text (invalid byte at offset 8)"]);
}

#[test]
fn an_unreadable_file_is_one_problem_naming_it() {
    let error = TreeConfig::load("/nonexistent/bot.yaml").unwrap_err();
    assert_eq!(error.origin(), "/nonexistent/bot.yaml");
    assert_eq!(error.problems().len(), 1);
    assert!(
        error.problems()[0]
            .message
            .starts_with("cannot read the file: "),
        "{error}"
    );
}

#[test]
fn paths_that_name_no_child_are_rejected_with_the_closest_path() {
    let error = apply(
        "children:\n  bot/market_fed: {restart: never}\n  market_feed: {restart: never}\n  bot/market_feed:\n    supervisor: {strategy: one_for_all}\n",
    )
    .unwrap_err();
    assert_eq!(
        lines(&error),
        [
            "2:3: `children.bot/market_fed`: no child at this path (did you mean \
             `bot/market_feed`?); paths start at the root (`bot/...`)",
            "3:3: `children.market_feed`: no child at this path; paths start at the root \
             (`bot/...`)",
            "5:5: `children.bot/market_feed.supervisor`: this child is not a supervisor; \
             strategy and intensity are a supervisor's",
        ]
    );
}

#[test]
fn a_file_base_above_a_code_max_is_found_when_applied() {
    let error = apply("children:\n  bot/risk_engine:\n    backoff: {base: 20s}\n").unwrap_err();
    assert_eq!(
        lines(&error),
        [
            "3:21: `children.bot/risk_engine.backoff.base`: the merged backoff of \
          `bot/risk_engine` has base 20s above max 10s (the base is from this file, the other \
          from the code); base must be at most max"
        ]
    );
}

#[test]
fn the_file_overrides_the_code_and_children_override_policy() {
    let configured = apply(
        "supervisor:\n  strategy: one_for_all\npolicy:\n  restart: always\n  backoff: {base: 250ms}\nshutdown:\n  graceful_timeout: 2s\n  abort_wait: 1s\nchildren:\n  bot/risk_engine:\n    restart: on_failure\n    shutdown: brutal_kill\n  bot/execution:\n    supervisor: {intensity: {max_restarts: 3, within: 10s}}\n",
    )
    .unwrap();
    let spec = &configured.spec;
    assert_eq!(spec.strategy(), Strategy::OneForAll);
    assert_eq!(spec.shutdown_timeout(), Duration::from_secs(2));
    assert_eq!(spec.abort_wait(), Duration::from_secs(1));
    let child = |name: &str| spec.children().iter().find(|c| c.name() == name).unwrap();
    assert_eq!(child("market_feed").restart(), RestartPolicy::Always);
    assert_eq!(
        child("market_feed").backoff().base(),
        Duration::from_millis(250)
    );
    assert_eq!(child("risk_engine").restart(), RestartPolicy::OnFailure);
    assert_eq!(
        child("risk_engine").shutdown(),
        Some(ShutdownPolicy::BrutalKill)
    );
    // `policy` set the base; the code's max stays.
    assert_eq!(
        child("risk_engine").backoff().base(),
        Duration::from_millis(250)
    );
    assert_eq!(
        child("risk_engine").backoff().max(),
        Duration::from_secs(10)
    );
    let execution = child("execution").nested().unwrap();
    assert_eq!(execution.strategy(), Strategy::RestForOne);
    assert_eq!(execution.intensity().unwrap().max_restarts, 3);
    assert_eq!(execution.shutdown_timeout(), Duration::from_secs(2));
    assert_eq!(
        execution.children()[0].restart(),
        RestartPolicy::Always,
        "policy reaches nested children"
    );

    let effective = &configured.effective;
    let source = |path: &str, kind: &str, field: &str| {
        effective
            .entry(path, kind)
            .unwrap()
            .get(field)
            .unwrap()
            .source
            .clone()
    };
    let at = |line, column| Source::File(Position { line, column });
    assert_eq!(source("bot", "supervisor", "strategy"), at(2, 13));
    assert_eq!(source("bot", "supervisor", "intensity"), Source::Default);
    assert_eq!(source("bot/market_feed", "child", "restart"), at(4, 12));
    assert_eq!(source("bot/risk_engine", "child", "restart"), at(11, 14));
    assert_eq!(
        source("bot/risk_engine", "child", "backoff.base"),
        at(5, 19)
    );
    assert_eq!(
        source("bot/risk_engine", "child", "backoff.max"),
        Source::Code
    );
    assert_eq!(
        source("bot/market_feed", "child", "backoff.max"),
        Source::Default
    );
    assert_eq!(
        source("bot/execution", "supervisor", "strategy"),
        Source::Code
    );
    assert_eq!(
        source("bot/execution", "supervisor", "intensity"),
        at(14, 29)
    );
    assert_eq!(
        source("bot/execution", "supervisor", "abort_wait"),
        at(8, 15)
    );
    let printed = effective.to_string();
    assert!(
        printed.contains("bot/risk_engine (child)\n  restart                on_failure"),
        "{printed}"
    );
    assert!(printed.contains("bot.yaml:11:14"), "{printed}");
}

#[test]
fn children_that_shared_a_policy_share_the_configured_one() {
    let fleet = SupervisorSpec::builder("fleet")
        .children((0..100).map(|i| idle("worker").with_name(format!("w{i}"))))
        .build()
        .unwrap();
    let config = TreeConfig::from_yaml("policy: {restart: never}\n", "bot.yaml").unwrap();
    let spec = config.apply(fleet).unwrap().spec;
    let first = &spec.children()[0].policy;
    assert!(
        spec.children()
            .iter()
            .all(|c| std::sync::Arc::ptr_eq(&c.policy, first))
    );
    assert_eq!(spec.children()[99].restart(), RestartPolicy::Never);
}

#[test]
fn observability_reaches_the_supervisor_config() {
    let config = TreeConfig::from_yaml(
        "observability: {journal_capacity: 0, event_capacity: 16, child_metrics: false}\n",
        "bot.yaml",
    )
    .unwrap();
    let applied = config.supervisor_config(crate::SupervisorConfig::default());
    assert_eq!(applied.journal_capacity(), 0);
    assert_eq!(applied.event_capacity(), 16);
    assert!(!applied.child_metrics());
}

#[test]
fn policy_gives_a_nested_supervisor_no_heartbeat_or_shutdown_but_its_entry_cannot_either() {
    let configured =
        apply("policy:\n  heartbeat: {stale_after: 3s}\n  shutdown: brutal_kill\n").unwrap();
    let child = |name: &str| {
        configured
            .spec
            .children()
            .iter()
            .find(|c| c.name() == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        child("market_feed").heartbeat_timeout(),
        Some(Duration::from_secs(3))
    );
    assert_eq!(child("execution").heartbeat_timeout(), None);
    assert_eq!(child("execution").shutdown(), None);
    let error = apply("children:\n  bot/execution: {heartbeat: {stale_after: 3s}}\n").unwrap_err();
    assert_eq!(error.problems().len(), 1, "{error}");
    assert!(
        error
            .to_string()
            .contains("2:3: `children.bot/execution`: the configured child is rejected"),
        "{error}"
    );
}

#[test]
fn loading_for_a_tree_lists_the_files_problems_and_its_paths_together() {
    let error = TreeConfig::from_yaml_for(
        "policy:\n  restrat: never\nchildren:\n  bot/market_fed: {}\n  bot/market_feed:\n    supervisor: {}\n",
        "bot.yaml",
        bot(),
    )
    .unwrap_err();
    assert_eq!(
        lines(&error),
        [
            "2:3: `policy.restrat`: unknown field (did you mean `restart`?); expected one of: \
             `backoff`, `circuit_breaker`, `heartbeat`, `restart`, `shutdown`",
            "4:3: `children.bot/market_fed`: no child at this path (did you mean \
             `bot/market_feed`?); paths start at the root (`bot/...`)",
            "6:5: `children.bot/market_feed.supervisor`: this child is not a supervisor; \
             strategy and intensity are a supervisor's",
        ]
    );
    let configured =
        TreeConfig::from_yaml_for("policy: {restart: never}\n", "bot.yaml", bot()).unwrap();
    assert_eq!(
        configured.spec.children()[0].restart(),
        RestartPolicy::Never
    );
}

#[test]
fn the_control_sockets_path_is_read_and_may_not_be_empty() {
    let config = TreeConfig::from_yaml("ipc: {path: /run/bot.sock}\n", "bot.yaml").unwrap();
    assert_eq!(
        config.ipc_path(),
        Some(std::path::Path::new("/run/bot.sock"))
    );
    assert_eq!(
        problems("ipc: {path: ''}\n"),
        ["1:13: `ipc.path`: \"\": too short; expected text of at least 1 character(s)"]
    );
    assert_eq!(
        problems("ipc: {}\n"),
        ["1:6: `ipc.path`: missing; it is required here"]
    );
}
