//! Feature `prometheus`: the tree's counters as a `prometheus-client` collector, registered in
//! the host's own registry (this crate serves no HTTP). Labels stay low-cardinality: the
//! child's `path` and name (`child`), and the failure `kind`; never error text.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::{ChildMetrics, FailureKind, SupervisorMetrics};

/// A collector of a tree's metrics, for
/// [`Registry::register_collector`](prometheus_client::registry::Registry::register_collector).
/// Every child's series exist, at zero, from its start.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `supervisor_active_services` | gauge | |
/// | `supervisor_restarts` | counter | `path`, `child` |
/// | `supervisor_failures` | counter | `path`, `child`, `kind` (`error`, `panic`, `timeout`) |
/// | `supervisor_breaker_trips` | counter | `path`, `child` |
/// | `supervisor_uptime_seconds` | counter | `path`, `child` |
/// | `supervisor_mailbox_queued` | gauge | `mailbox` |
/// | `supervisor_mailbox_in_doubt` | gauge | `mailbox` |
/// | `supervisor_mailbox_sent`, `_delivered`, `_redelivered`, `_acked`, `_rejected`, `_dead_lettered` | counter | `mailbox` |
///
/// (The text encoding adds `_total` to counters.)
///
/// ```
/// use prometheus_client::registry::Registry;
/// use supervisor::{PrometheusCollector, Supervisor, SupervisorConfig};
///
/// let supervisor = Supervisor::new(SupervisorConfig::default().without_signal_handler());
/// let mut registry = Registry::default();
/// registry.register_collector(Box::new(PrometheusCollector::new(supervisor.metrics().clone())));
/// let mut text = String::new();
/// prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
/// assert!(text.contains("supervisor_active_services 0"));
/// ```
#[derive(Debug, Clone)]
pub struct PrometheusCollector {
    metrics: SupervisorMetrics,
}

impl PrometheusCollector {
    /// A collector reading `metrics` (from `Supervisor::metrics` or `SupervisorHandle::metrics`).
    pub fn new(metrics: SupervisorMetrics) -> Self {
        PrometheusCollector { metrics }
    }
}

const KINDS: [FailureKind; 3] = [FailureKind::Error, FailureKind::Panic, FailureKind::Timeout];

impl Collector for PrometheusCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.metrics.snapshot();
        let active = ConstGauge::new(i64::try_from(snapshot.active_services).unwrap_or(i64::MAX));
        let family = encoder.encode_descriptor(
            "supervisor_active_services",
            "Services added and not yet terminated",
            None,
            active.metric_type(),
        )?;
        active.encode(family)?;
        let children = &snapshot.children;
        let per_child = |child: &ChildMetrics| {
            let name = child.path.rsplit('/').next().unwrap_or(&child.path);
            vec![
                ("path".to_owned(), child.path.clone()),
                ("child".to_owned(), name.to_owned()),
            ]
        };
        counter_family(
            &mut encoder,
            ("supervisor_restarts", "Attempts started after the first"),
            children.iter().map(|c| (per_child(c), c.stats.restarts)),
        )?;
        counter_family(
            &mut encoder,
            ("supervisor_failures", "Failed attempts, by kind"),
            children.iter().flat_map(|c| {
                KINDS.into_iter().map(move |kind| {
                    let mut labels = per_child(c);
                    labels.push(("kind".to_owned(), kind.as_str().to_owned()));
                    (labels, c.stats.failures_of(kind))
                })
            }),
        )?;
        counter_family(
            &mut encoder,
            (
                "supervisor_breaker_trips",
                "Times the child's circuit breaker opened",
            ),
            children
                .iter()
                .map(|c| (per_child(c), c.stats.breaker_trips)),
        )?;
        counter_family(
            &mut encoder,
            (
                "supervisor_uptime_seconds",
                "Time the child has spent running",
            ),
            children
                .iter()
                .map(|c| (per_child(c), c.stats.uptime.as_secs_f64())),
        )?;
        mailbox_families(&mut encoder, &snapshot.mailboxes)
    }
}

/// A series of a mailbox: its name, help and value.
type Series = (
    &'static str,
    &'static str,
    fn(&crate::mailbox::MailboxStats) -> u64,
);

/// A mailbox's length and counts, labelled with its name.
fn mailbox_families(
    encoder: &mut DescriptorEncoder,
    mailboxes: &[crate::mailbox::MailboxStats],
) -> Result<(), std::fmt::Error> {
    let label = |m: &crate::mailbox::MailboxStats| vec![("mailbox".to_owned(), m.name.clone())];
    let gauges: [Series; 2] = [
        (
            "supervisor_mailbox_queued",
            "Messages waiting for their first delivery",
            |m| m.queued,
        ),
        (
            "supervisor_mailbox_in_doubt",
            "Messages delivered and not yet settled",
            |m| m.in_doubt,
        ),
    ];
    for (name, help, value) in gauges {
        let mut family =
            encoder.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
        for mailbox in mailboxes {
            let gauge = ConstGauge::new(i64::try_from(value(mailbox)).unwrap_or(i64::MAX));
            gauge.encode(family.encode_family(&label(mailbox))?)?;
        }
    }
    let counters: [Series; 6] = [
        (
            "supervisor_mailbox_sent",
            "Messages sent into the mailbox",
            |m| m.sent,
        ),
        (
            "supervisor_mailbox_delivered",
            "Messages received by its consumer, once each",
            |m| m.delivered,
        ),
        (
            "supervisor_mailbox_redelivered",
            "Deliveries after the first",
            |m| m.redelivered,
        ),
        ("supervisor_mailbox_acked", "Messages acknowledged", |m| {
            m.acked
        }),
        (
            "supervisor_mailbox_rejected",
            "Messages rejected as invalid",
            |m| m.rejected,
        ),
        (
            "supervisor_mailbox_dead_lettered",
            "Messages given up on",
            |m| m.dead_lettered,
        ),
    ];
    for (name, help, value) in counters {
        counter_family(
            encoder,
            (name, help),
            mailboxes.iter().map(|m| (label(m), value(m))),
        )?;
    }
    Ok(())
}

/// One counter family: its descriptor, then a sample per label set.
fn counter_family<V>(
    encoder: &mut DescriptorEncoder,
    (name, help): (&str, &str),
    samples: impl Iterator<Item = (Vec<(String, String)>, V)>,
) -> Result<(), std::fmt::Error>
where
    V: prometheus_client::encoding::EncodeCounterValue + Default + std::fmt::Debug,
{
    let mut family = encoder.encode_descriptor(
        name,
        help,
        None,
        ConstCounter::new(V::default()).metric_type(),
    )?;
    for (labels, value) in samples {
        ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}
