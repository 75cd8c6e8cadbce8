//! What a node leaves behind when its loop ends: each child's final state and shutdown outcome,
//! with a nested supervisor's children inside its record. Records move up one level at a time
//! (no copy per level) and are flattened once, at the root.

use std::sync::Arc;

use super::health::HealthStatus;
use crate::observe::ChildStats;
use std::time::Duration;

use super::node::LastExit;
use super::shutdown_report::{ServiceShutdown, ShutdownReport, StopOutcome};
use super::snapshot::ServiceLifecycleSnapshot;
use super::tree_state::ChildState;
use crate::error::Escalation;
use crate::model::{ChildKind, RestartPolicy, ServicePhase, TerminationReason};
use crate::observe::Failure;
use crate::spec::{ChildPolicy, ChildSpec, SupervisorSpec};

/// The end of one node's run.
pub(crate) struct NodeExit {
    pub(crate) requested_by: String,
    pub(crate) reason: String,
    pub(crate) duration: Duration,
    pub(crate) children: Vec<ChildRecord>,
    pub(crate) failure: Option<Escalation>,
}

/// One child at the end of its supervisor's run.
pub(crate) struct ChildRecord {
    /// Its state, as shared values: made into a `ChildState` only when asked for.
    pub(crate) last: Final,
    pub(crate) outcome: StopOutcome,
    pub(crate) nested: Vec<ChildRecord>,
}

/// A child's state at its supervisor's end, without copies: a large tree's teardown makes no
/// strings until a state or a report is asked for.
pub(crate) struct Final {
    pub(crate) path: Arc<str>,
    pub(crate) name: Arc<str>,
    pub(crate) kind: ChildKind,
    pub(crate) phase: ServicePhase,
    pub(crate) attempt: u32,
    pub(crate) last_exit: Option<LastExit>,
    /// Replaces the words for how it ended (a lost child's).
    pub(crate) note: Option<String>,
    pub(crate) termination: Option<TerminationReason>,
    /// For its tags.
    pub(crate) policy: Arc<ChildPolicy>,
    pub(crate) last_failure: Option<Arc<Failure>>,
    pub(crate) stats: ChildStats,
    pub(crate) health: HealthStatus,
    /// How long before this state its last heartbeat was, if it ever sent one.
    pub(crate) heartbeat_age: Option<Duration>,
    /// While backing off, how long until its restart is due.
    pub(crate) restart_in: Option<Duration>,
    /// Failures counting towards its circuit breaker.
    pub(crate) breaker_failures: u32,
    /// The counts of the mailbox it consumes, if it does.
    pub(crate) mailbox: Option<crate::mailbox::MailboxStats>,
}

impl Final {
    /// A child that never ran (under a supervisor that never did), in `phase`.
    fn unstarted(path: Arc<str>, child: &ChildSpec, phase: ServicePhase) -> Self {
        Final {
            path,
            name: Arc::clone(&child.name),
            kind: child.kind(),
            phase,
            attempt: 0,
            last_exit: None,
            note: None,
            termination: None,
            policy: Arc::clone(&child.policy),
            last_failure: None,
            stats: ChildStats::default(),
            health: HealthStatus::Healthy,
            heartbeat_age: None,
            restart_in: None,
            breaker_failures: 0,
            mailbox: child.mailbox().map(|mailbox| mailbox.stats()),
        }
    }

    /// The public state (its `children` empty: they are in the record's `nested`).
    pub(crate) fn state(&self) -> ChildState {
        ChildState {
            path: self.path.to_string(),
            name: self.name.to_string(),
            kind: self.kind,
            phase: self.phase,
            attempt: self.attempt,
            last_exit: self.note.clone().or_else(|| {
                self.termination
                    .as_ref()
                    .map(ToString::to_string)
                    .or_else(|| describe_last_exit(self.last_exit, self.last_failure.as_deref()))
            }),
            tags: names(&self.policy.tags),
            last_failure: self.last_failure.as_ref().map(|f| f.message().to_owned()),
            stats: self.stats,
            health: self.health.clone(),
            restart: self.policy.restart,
            backoff: self.policy.backoff,
            shutdown: self.policy.shutdown,
            after: names(&self.policy.dependencies),
            requires: names(&self.policy.requirements),
            heartbeat_timeout: self.policy.heartbeat_timeout,
            heartbeat_age: self.heartbeat_age,
            restart_in: self.restart_in,
            breaker_failures: self.breaker_failures,
            mailbox: self.mailbox.clone(),
            intensity: None,
            children: Vec::new(),
        }
    }

    /// Its lifecycle snapshot.
    pub(crate) fn snapshot(&self) -> ServiceLifecycleSnapshot {
        ServiceLifecycleSnapshot {
            name: self.name.to_string(),
            phase: self.phase,
            restart_policy: self.policy.restart,
            start_count: self.attempt,
            total_failures: self.stats.failures(),
            last_error: self.last_failure.as_ref().map(|f| f.message().to_owned()),
            termination_reason: self.termination.clone(),
            running_time: self.stats.uptime,
            last_heartbeat_age: self.heartbeat_age,
        }
    }
}

fn names(names: &[Arc<str>]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// How an attempt ended, in words.
pub(crate) fn describe_last_exit(
    last_exit: Option<LastExit>,
    last_failure: Option<&Failure>,
) -> Option<String> {
    Some(match last_exit? {
        LastExit::Completed => "completed".to_owned(),
        LastExit::Failed => last_failure?.describe(),
        LastExit::Stopped => "stopped".to_owned(),
        LastExit::Aborted => "aborted".to_owned(),
        LastExit::Detached => "detached".to_owned(),
    })
}

impl ChildRecord {
    /// Records of `spec`'s children (under `path`) for a supervisor that never ran: attempt 0,
    /// in `phase`, not running.
    pub(crate) fn unstarted(path: &str, spec: &SupervisorSpec, phase: ServicePhase) -> Vec<Self> {
        let child_path = |parent: &str, child: &ChildSpec| -> Arc<str> {
            format!("{parent}/{}", child.name).into()
        };
        let roots = spec
            .children
            .iter()
            .map(|child| (child_path(path, child), child))
            .collect();
        build_forest(
            roots,
            |(path, child): (Arc<str>, &ChildSpec)| {
                let nested = child.nested().map_or_else(Vec::new, |n| {
                    n.children
                        .iter()
                        .map(|c| (child_path(&path, c), c))
                        .collect()
                });
                let record = ChildRecord {
                    last: Final::unstarted(path, child, phase),
                    outcome: StopOutcome::NotRunning,
                    nested: Vec::new(),
                };
                (record, nested)
            },
            |record, nested| record.nested = nested,
        )
    }
}

/// Builds a forest bottom-up without recursion (trees may be nested up to
/// [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH) levels): `split` turns an input node into
/// its output and its input children, `attach` gives an output its finished children.
pub(crate) fn build_forest<I, O>(
    roots: Vec<I>,
    mut split: impl FnMut(I) -> (O, Vec<I>),
    mut attach: impl FnMut(&mut O, Vec<O>),
) -> Vec<O> {
    // Pre-order, so that every node comes after its parent; `parent` is its index plus one.
    let mut flat: Vec<(Option<O>, usize)> = Vec::new();
    let mut stack: Vec<(I, usize)> = roots.into_iter().rev().map(|r| (r, 0)).collect();
    while let Some((input, parent)) = stack.pop() {
        let id = flat.len();
        let (output, children) = split(input);
        flat.push((Some(output), parent));
        stack.extend(children.into_iter().rev().map(|c| (c, id + 1)));
    }
    // Children first: walking backwards finishes every node before its parent.
    let mut children: Vec<Vec<O>> = (0..flat.len()).map(|_| Vec::new()).collect();
    let mut forest = Vec::new();
    for id in (0..flat.len()).rev() {
        let (slot, parent) = &mut flat[id];
        let Some(mut output) = slot.take() else {
            continue;
        };
        let mut finished = std::mem::take(&mut children[id]);
        if !finished.is_empty() {
            finished.reverse();
            attach(&mut output, finished);
        }
        match parent.checked_sub(1) {
            Some(p) => children[p].push(output),
            None => forest.push(output),
        }
    }
    forest.reverse();
    forest
}

/// Marks every record under `records` as not running at shutdown (a supervisor that was not
/// running then: its children's outcomes are from an earlier stop).
pub(crate) fn mark_not_running(records: &mut [ChildRecord]) {
    for_each_record(records, |record| record.outcome = StopOutcome::NotRunning);
}

/// Applies `change` to every record under `records`, nested ones included, without recursion.
fn for_each_record(records: &mut [ChildRecord], mut change: impl FnMut(&mut ChildRecord)) {
    let mut stack: Vec<&mut ChildRecord> = records.iter_mut().collect();
    while let Some(record) = stack.pop() {
        change(&mut *record);
        stack.extend(record.nested.iter_mut());
    }
}

/// The states of `records`, nested children filled in.
pub(crate) fn states(records: &[ChildRecord]) -> Vec<ChildState> {
    build_forest(
        records.iter().collect(),
        |record| (record.last.state(), record.nested.iter().collect()),
        |state, children| state.children = children,
    )
}

/// Report entries, depth first, each nested supervisor's children right after it.
pub(crate) fn report_entries(records: &[ChildRecord]) -> Vec<ServiceShutdown> {
    let mut entries = Vec::new();
    let mut stack: Vec<&ChildRecord> = records.iter().rev().collect();
    while let Some(record) = stack.pop() {
        entries.push(ServiceShutdown {
            path: record.last.path.to_string(),
            name: record.last.name.to_string(),
            outcome: record.outcome,
        });
        stack.extend(record.nested.iter().rev());
    }
    entries
}

/// What the root keeps once its loop has ended: its children's records, from which the
/// report, the states and the snapshots are made when asked for (most runs ask only for the
/// report, once: a large tree's teardown builds nothing else).
pub(crate) struct Ended {
    requested_by: String,
    reason: String,
    duration: Duration,
    records: Vec<ChildRecord>,
    /// Whether the records are the children's own (not the stand-ins of a lost loop).
    known: bool,
    pub(crate) failure: Option<Escalation>,
    /// The panic message, if the root's loop died.
    pub(crate) internal: Option<String>,
    /// Every mailbox's counts once the last attempt ended.
    pub(crate) mailboxes: Vec<crate::mailbox::MailboxStats>,
}

impl Ended {
    pub(crate) fn from_exit(exit: NodeExit) -> Self {
        Ended {
            requested_by: exit.requested_by,
            reason: exit.reason,
            duration: exit.duration,
            records: exit.children,
            known: true,
            failure: exit.failure,
            internal: None,
            mailboxes: Vec::new(),
        }
    }

    pub(crate) fn report(&self) -> ShutdownReport {
        ShutdownReport {
            requested_by: self.requested_by.clone(),
            reason: self.reason.clone(),
            services: report_entries(&self.records),
            duration: self.duration,
            internal_error: self.internal.clone(),
            mailboxes: self.mailboxes.clone(),
        }
    }

    /// The final state of every child, nested ones inside.
    pub(crate) fn children(&self) -> Vec<ChildState> {
        states(&self.records)
    }

    /// The root's children's final lifecycle snapshots (none after a lost loop).
    pub(crate) fn snapshots(&self) -> Vec<ServiceLifecycleSnapshot> {
        if !self.known {
            return Vec::new();
        }
        self.records
            .iter()
            .map(|record| record.last.snapshot())
            .collect()
    }

    /// The root's loop panicked: every child of the spec, and those `added` at run time, is
    /// reported lost.
    pub(crate) fn lost(
        path: &str,
        spec: &SupervisorSpec,
        added: &[Arc<str>],
        message: String,
    ) -> Self {
        let mut records = ChildRecord::unstarted(path, spec, ServicePhase::Terminated);
        records.extend(added.iter().map(|name| ChildRecord {
            last: Final {
                path: format!("{path}/{name}").into(),
                name: Arc::clone(name),
                kind: ChildKind::Async,
                phase: ServicePhase::Terminated,
                attempt: 0,
                last_exit: None,
                note: None,
                termination: None,
                policy: ChildPolicy::default_for(RestartPolicy::OnFailure),
                last_failure: None,
                stats: ChildStats::default(),
                health: HealthStatus::Terminated("lost".into()),
                heartbeat_age: None,
                restart_in: None,
                breaker_failures: 0,
                mailbox: None,
            },
            outcome: StopOutcome::Lost,
            nested: Vec::new(),
        }));
        for_each_record(&mut records, |record| {
            record.outcome = StopOutcome::Lost;
            record.last.note = Some(format!("lost: {message}"));
        });
        Ended {
            requested_by: path.to_owned(),
            reason: "internal error".to_owned(),
            duration: Duration::ZERO,
            records,
            known: false,
            failure: None,
            internal: Some(message),
            mailboxes: Vec::new(),
        }
    }
}
