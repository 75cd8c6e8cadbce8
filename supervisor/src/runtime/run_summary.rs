//! What a run amounted to, per child: built from the tree's state (counters, last failure),
//! the journal (escalations) and, once the tree has ended, its shutdown report.

use std::collections::HashMap;
use std::fmt;

use super::shutdown_report::{ShutdownReport, StopOutcome};
use super::tree_state::TreeState;
use crate::CompactDuration;
use crate::error::Escalation;
use crate::model::ServicePhase;
use crate::observe::{ChildStats, EventKind, LifecycleEvent};

/// One child in a [`RunSummary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSummary {
    /// Its path from the root.
    pub path: String,
    /// Its phase now (its last one, once the tree has ended).
    pub phase: ServicePhase,
    /// Restarts, failures by kind, breaker trips, time running.
    pub stats: ChildStats,
    /// Its last failure's message, if it ever failed.
    pub last_failure: Option<String>,
    /// For a supervisor child: how often it gave up (as the journal still records it).
    pub escalations: usize,
    /// How it stopped at shutdown, once the tree has ended.
    pub shutdown: Option<StopOutcome>,
}

/// A run's summary, from [`SupervisorHandle::run_summary`](crate::SupervisorHandle::run_summary).
/// Its `Display` is a table, one line per child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Every child, depth first.
    pub children: Vec<ChildSummary>,
    /// Every escalation the journal still holds, oldest first (the root's included).
    pub escalations: Vec<Escalation>,
    /// Whether the tree has ended.
    pub ended: bool,
}

impl RunSummary {
    pub(crate) fn build(
        state: &TreeState,
        journal: &[LifecycleEvent],
        report: Option<&ShutdownReport>,
    ) -> Self {
        let escalations: Vec<(&str, &Escalation)> = journal
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::Escalated(escalation) => Some((&*event.path, &**escalation)),
                _ => None,
            })
            .collect();
        // Looked up by path once each, not searched per child.
        let mut escalations_of: HashMap<&str, usize> = HashMap::new();
        for (path, _) in &escalations {
            *escalations_of.entry(path).or_default() += 1;
        }
        let outcomes: HashMap<&str, StopOutcome> = report
            .iter()
            .flat_map(|report| &report.services)
            .map(|s| (s.path.as_str(), s.outcome))
            .collect();
        let children = state
            .iter()
            .map(|child| ChildSummary {
                path: child.path.clone(),
                phase: child.phase,
                stats: child.stats,
                last_failure: child.last_failure.clone(),
                escalations: escalations_of
                    .get(child.path.as_str())
                    .copied()
                    .unwrap_or(0),
                shutdown: outcomes.get(child.path.as_str()).copied(),
            })
            .collect();
        RunSummary {
            children,
            escalations: escalations.into_iter().map(|(_, e)| e.clone()).collect(),
            ended: report.is_some(),
        }
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<32} {:>8} {:>6} {:>6} {:>8} {:>6} {:>9}  last failure",
            "child", "restarts", "errors", "panics", "timeouts", "trips", "uptime"
        )?;
        for child in &self.children {
            let s = &child.stats;
            writeln!(
                f,
                "{:<32} {:>8} {:>6} {:>6} {:>8} {:>6} {:>9}  {}",
                child.path,
                s.restarts,
                s.errors,
                s.panics,
                s.timeouts,
                s.breaker_trips,
                CompactDuration(s.uptime).to_string(),
                child.last_failure.as_deref().unwrap_or("-")
            )?;
        }
        for escalation in &self.escalations {
            writeln!(f, "escalation: {escalation}")?;
        }
        Ok(())
    }
}
