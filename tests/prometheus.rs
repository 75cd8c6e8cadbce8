//! The Prometheus collector: a known scenario, exported through the host's registry, parsed
//! back into samples (not compared as a blob of text). On the paused clock.

mod common;

use std::collections::BTreeMap;

use common::*;
use prometheus_client::registry::Registry;
use supervisor::PrometheusCollector;
use supervisor::prelude::*;

/// `name{label="v",..} value` lines as (name, labels) -> value; comments skipped.
fn samples(text: &str) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    let mut found = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').expect("label=value");
                (key.to_owned(), value.trim_matches('"').to_owned())
            })
            .collect();
        found.insert((name.to_owned(), labels), value.parse().expect("a number"));
    }
    found
}

fn key(name: &str, labels: &[(&str, &str)]) -> (String, BTreeMap<String, String>) {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    (name.to_owned(), labels)
}

#[tokio::test(start_paused = true)]
async fn the_collector_exports_per_child_counters_with_low_cardinality_labels() {
    let flaky = service_fn("feed", |ctx: TaskContext| async move {
        if ctx.attempt() <= 2 {
            return Err(ServiceError::from("connection reset by 10.0.0.7"));
        }
        ctx.cancelled().await;
        Ok(())
    })
    .with_backoff(plain_backoff(100, 100));
    let spec = SupervisorSpec::builder("bot")
        .child(flaky)
        .child(service_fn("risk", |ctx: TaskContext| async move {
            ctx.cancelled().await
        }))
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(PrometheusCollector::new(tree.metrics().clone())));
    run_for(1_200).await;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let found = samples(&text);
    let feed = [("path", "bot/feed"), ("child", "feed")];
    let risk = [("path", "bot/risk"), ("child", "risk")];
    let expect = [
        (key("supervisor_active_services", &[]), 2.0),
        (key("supervisor_restarts_total", &feed), 2.0),
        (key("supervisor_restarts_total", &risk), 0.0),
        (
            key(
                "supervisor_failures_total",
                &[feed[0], feed[1], ("kind", "error")],
            ),
            2.0,
        ),
        (
            key(
                "supervisor_failures_total",
                &[feed[0], feed[1], ("kind", "panic")],
            ),
            0.0,
        ),
        (
            key(
                "supervisor_failures_total",
                &[feed[0], feed[1], ("kind", "timeout")],
            ),
            0.0,
        ),
        (
            key(
                "supervisor_failures_total",
                &[risk[0], risk[1], ("kind", "error")],
            ),
            0.0,
        ),
        (key("supervisor_breaker_trips_total", &feed), 0.0),
        (key("supervisor_uptime_seconds_total", &feed), 1.0),
        (key("supervisor_uptime_seconds_total", &risk), 1.2),
    ];
    for (series, value) in expect {
        assert_eq!(found.get(&series), Some(&value), "{series:?} in\n{text}");
    }
    // Labels are path, child and kind only: never the error's text.
    let label_names: std::collections::BTreeSet<&str> = found
        .keys()
        .flat_map(|(_, labels)| labels.keys().map(String::as_str))
        .collect();
    assert_eq!(label_names, ["child", "kind", "path"].into_iter().collect());
    assert!(!text.contains("10.0.0.7"));
    assert_eq!(found.len(), 1 + 2 * (1 + 3 + 1 + 1));
}

#[tokio::test(start_paused = true)]
async fn each_mailbox_exports_its_length_and_counts() {
    use supervisor::mailbox::{AckInbox, Mailbox, service_with_inbox};
    let (orders, consumer) = Mailbox::<u32>::builder("orders", 8)
        .at_least_once(3)
        .build()
        .unwrap();
    // Fails once on the second order, acks every delivery else, then waits for more (its
    // counts are published while it waits).
    let router = service_with_inbox("router", consumer, |_ctx, inbox: &mut AckInbox<u32>| {
        Box::pin(async move {
            while let Some(order) = inbox.recv().await {
                if *order == 2 && order.deliveries() == 1 {
                    return Err(ServiceError::from("rejected by the venue"));
                }
                order.ack();
            }
            Ok(())
        })
    })
    .with_backoff(plain_backoff(100, 100));
    let spec = SupervisorSpec::builder("bot")
        .child(router)
        .build()
        .unwrap();
    let tree = Supervisor::start_with_config(spec, test_config())
        .await
        .unwrap();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(PrometheusCollector::new(tree.metrics().clone())));
    for order in 1..=3 {
        orders.sender().send(order).await.unwrap();
    }
    run_for(1_000).await;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let found = samples(&text);
    let orders_label = [("mailbox", "orders")];
    let expect = [
        (key("supervisor_mailbox_queued", &orders_label), 0.0),
        (key("supervisor_mailbox_in_doubt", &orders_label), 0.0),
        (key("supervisor_mailbox_sent_total", &orders_label), 3.0),
        (
            key("supervisor_mailbox_delivered_total", &orders_label),
            3.0,
        ),
        (
            key("supervisor_mailbox_redelivered_total", &orders_label),
            1.0,
        ),
        (key("supervisor_mailbox_acked_total", &orders_label), 3.0),
        (key("supervisor_mailbox_rejected_total", &orders_label), 0.0),
        (
            key("supervisor_mailbox_dead_lettered_total", &orders_label),
            0.0,
        ),
    ];
    for (series, value) in expect {
        assert_eq!(found.get(&series), Some(&value), "{series:?} in\n{text}");
    }
    let snapshot = tree.metrics().snapshot();
    assert_eq!(snapshot.mailboxes, [orders.stats()]);
    let state = tree.current_state().await;
    assert_eq!(
        state.find("bot/router").unwrap().mailbox,
        Some(orders.stats())
    );
    tree.shutdown_tree("test", "done").await;
}
