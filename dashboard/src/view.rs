//! What one browser has been sent of each target, so that what follows is only what changed:
//! children whose state moved, and events after the last one sent. A 10,000-child tree with a
//! child failing every few milliseconds sends a few children per update, not the tree.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use supervisor::ipc::{ChildView, TreeView};
use tokio::time::Instant;

use crate::target::{Target, TargetStatus};

/// A clock-driven field drifting from what the browser extrapolates by more than this is
/// sent again.
const DRIFT: Duration = Duration::from_millis(1_000);

/// Events sent in one message at most (a browser catching up gets several).
const EVENTS_PER_MESSAGE: usize = 500;

/// One target as one browser last saw it.
#[derive(Default)]
pub(crate) struct Seen {
    /// The status fields other than the tree and events, as last sent.
    header: Option<Value>,
    /// The run of the tree the rest belongs to.
    run: Option<(u32, u64)>,
    /// Each child as sent, and when.
    children: HashMap<String, (ChildView, Instant)>,
    tree_header: Option<Value>,
    /// When the tree last compared was read: the same tree is not compared twice.
    tree_read_at: Option<Instant>,
    /// The last event sent.
    last_event: u64,
}

impl Seen {
    /// The messages that bring this browser up to date with `target`.
    pub(crate) fn update(&mut self, id: &str, target: &Target) -> Vec<Value> {
        target.with_status(|status| self.messages(id, status))
    }

    fn messages(&mut self, id: &str, status: &TargetStatus) -> Vec<Value> {
        let mut out = Vec::new();
        let run = status.process.as_ref().map(|p| (p.pid, p.started_ms));
        let reset = run.is_some() && run != self.run;
        if reset {
            // Another run of the tree: its children and events start again.
            self.run = run;
            self.children.clear();
            self.tree_header = None;
            self.tree_read_at = None;
            self.last_event = 0;
        }
        let header = json!({
            "type": "target",
            "target": id,
            "connected": status.connected,
            "process": status.process,
            "missed": status.missed,
            "evicted": status.evicted,
            "held": status.events.len(),
            "connections": status.connections,
            "last_error": status.last_error,
            "report": status.report,
            "reset": reset,
        });
        // `reset` is about this message only.
        let mut compared = header.clone();
        compared["reset"] = json!(false);
        if reset || self.header.as_ref() != Some(&compared) {
            out.push(header);
            self.header = Some(compared);
        }
        if let (Some(tree), Some(read_at)) = (&status.tree, status.tree_read_at)
            && self.tree_read_at != Some(read_at)
        {
            // Clock-driven fields are compared as of when the tree was read.
            self.tree_read_at = Some(read_at);
            if let Some(message) = self.tree_changes(id, tree, read_at) {
                out.push(message);
            }
        }
        let new: Vec<&supervisor::ipc::EventView> = status
            .events
            .iter()
            .filter(|event| event.seq > self.last_event)
            .collect();
        for chunk in new.chunks(EVENTS_PER_MESSAGE) {
            out.push(json!({"type": "events", "target": id, "events": chunk}));
        }
        if let Some(last) = new.last() {
            self.last_event = last.seq;
        }
        out
    }

    fn tree_changes(&mut self, id: &str, tree: &TreeView, now: Instant) -> Option<Value> {
        let header = json!({
            "name": tree.name,
            "healthy": tree.healthy,
            "ready": tree.ready,
            "shutting_down": tree.shutting_down,
            "intensity": tree.intensity,
        });
        let mut changed = Vec::new();
        let mut present = HashMap::with_capacity(self.children.len());
        flatten(&tree.children, None, &mut |parent, index, child| {
            present.insert(child.path.as_str(), ());
            let fresh = match self.children.get(&child.path) {
                Some((sent, at)) => differs(sent, *at, child, now),
                None => true,
            };
            if fresh {
                let flat = shallow(child);
                changed.push(json!({"parent": parent, "index": index, "child": flat}));
                self.children.insert(child.path.clone(), (flat, now));
            }
        });
        let removed: Vec<String> = self
            .children
            .keys()
            .filter(|path| !present.contains_key(path.as_str()))
            .cloned()
            .collect();
        for path in &removed {
            self.children.remove(path);
        }
        if changed.is_empty() && removed.is_empty() && self.tree_header.as_ref() == Some(&header) {
            return None;
        }
        self.tree_header = Some(header.clone());
        Some(json!({
            "type": "tree",
            "target": id,
            "tree": header,
            "changed": changed,
            "removed": removed,
        }))
    }
}

/// Each child with its parent's path (none at the top) and its place among its siblings,
/// depth first.
fn flatten<'a>(
    children: &'a [ChildView],
    parent: Option<&'a str>,
    visit: &mut impl FnMut(Option<&'a str>, usize, &'a ChildView),
) {
    for (index, child) in children.iter().enumerate() {
        visit(parent, index, child);
        flatten(&child.children, Some(&child.path), visit);
    }
}

/// Whether `new` differs from what the browser shows of `sent` (sent at `at`): a field other
/// than the clock-driven ones, or one of those drifting from its extrapolation (the browser
/// counts uptime on while running, a heartbeat's age on, a restart's countdown down).
fn differs(sent: &ChildView, at: Instant, new: &ChildView, now: Instant) -> bool {
    let elapsed = now.saturating_duration_since(at);
    let drifted = |then: Option<u64>, now: Option<u64>, grows: bool| -> bool {
        match (then, now) {
            (None, None) => false,
            (Some(then), Some(now)) => {
                let elapsed = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
                let expected = if grows {
                    then.saturating_add(elapsed)
                } else {
                    then.saturating_sub(elapsed)
                };
                expected.abs_diff(now) > DRIFT.as_millis() as u64
            }
            _ => true,
        }
    };
    let uptime_moved = if sent.phase == "running" {
        drifted(Some(sent.uptime_ms), Some(new.uptime_ms), true)
    } else {
        sent.uptime_ms != new.uptime_ms
    };
    !same_but_the_clock(sent, new)
        || uptime_moved
        || drifted(sent.heartbeat_age_ms, new.heartbeat_age_ms, true)
        || drifted(sent.restart_in_ms, new.restart_in_ms, false)
}

/// Whether two views agree on everything but the clock-driven fields and the nested
/// children (listed field by field: a new field of `ChildView` must be placed here).
fn same_but_the_clock(a: &ChildView, b: &ChildView) -> bool {
    let ChildView {
        path,
        name,
        kind,
        phase,
        attempt,
        last_exit,
        last_failure,
        tags,
        restarts,
        failures,
        breaker_trips,
        uptime_ms: _,
        health,
        health_detail,
        restart,
        backoff,
        shutdown,
        after,
        requires,
        heartbeat_timeout_ms,
        heartbeat_age_ms: _,
        restart_in_ms: _,
        intensity,
        mailbox,
        children: _,
    } = a;
    *path == b.path
        && *name == b.name
        && *kind == b.kind
        && *phase == b.phase
        && *attempt == b.attempt
        && *last_exit == b.last_exit
        && *last_failure == b.last_failure
        && *tags == b.tags
        && *restarts == b.restarts
        && *failures == b.failures
        && *breaker_trips == b.breaker_trips
        && *health == b.health
        && *health_detail == b.health_detail
        && *restart == b.restart
        && *backoff == b.backoff
        && *shutdown == b.shutdown
        && *after == b.after
        && *requires == b.requires
        && *heartbeat_timeout_ms == b.heartbeat_timeout_ms
        && *intensity == b.intensity
        && *mailbox == b.mailbox
}

/// The view without its nested children (not cloned: a supervisor's subtree may be large).
fn shallow(child: &ChildView) -> ChildView {
    ChildView {
        path: child.path.clone(),
        name: child.name.clone(),
        kind: child.kind.clone(),
        phase: child.phase.clone(),
        attempt: child.attempt,
        last_exit: child.last_exit.clone(),
        last_failure: child.last_failure.clone(),
        tags: child.tags.clone(),
        restarts: child.restarts,
        failures: child.failures,
        breaker_trips: child.breaker_trips,
        uptime_ms: child.uptime_ms,
        health: child.health.clone(),
        health_detail: child.health_detail.clone(),
        restart: child.restart.clone(),
        backoff: child.backoff.clone(),
        shutdown: child.shutdown.clone(),
        after: child.after.clone(),
        requires: child.requires.clone(),
        heartbeat_timeout_ms: child.heartbeat_timeout_ms,
        heartbeat_age_ms: child.heartbeat_age_ms,
        restart_in_ms: child.restart_in_ms,
        intensity: child.intensity,
        mailbox: child.mailbox.clone(),
        children: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(phase: &str, uptime_ms: u64) -> ChildView {
        serde_json::from_value(json!({
            "path": "bot/feed", "name": "feed", "kind": "async", "phase": phase, "attempt": 1,
            "last_exit": null, "last_failure": null, "tags": [], "restarts": 0, "failures": 0,
            "breaker_trips": 0, "uptime_ms": uptime_ms, "health": "healthy",
            "health_detail": null, "restart": "always",
            "backoff": {"base_ms": 100, "max_ms": 1000, "cooldown_ms": 1000, "jitter": "none",
                "breaker": null},
            "shutdown": null, "after": [], "requires": [], "heartbeat_timeout_ms": null,
            "heartbeat_age_ms": null, "restart_in_ms": null, "intensity": null, "children": []
        }))
        .unwrap()
    }

    #[test]
    fn a_running_childs_uptime_is_counted_on_by_the_browser_not_resent() {
        let at = Instant::now();
        let now = at + Duration::from_millis(2_000);
        let sent = child("running", 1_000);
        assert!(!differs(&sent, at, &child("running", 3_000), now));
        assert!(
            !differs(&sent, at, &child("running", 3_900), now),
            "within the drift"
        );
        assert!(differs(&sent, at, &child("running", 4_500), now), "drifted");
        // Not running, its uptime stands still: any change is news.
        let stopped = child("backing_off", 1_000);
        assert!(!differs(&stopped, at, &child("backing_off", 1_000), now));
        assert!(differs(&stopped, at, &child("backing_off", 1_200), now));
        assert!(
            differs(&sent, at, &child("backing_off", 3_000), now),
            "a new phase"
        );
    }
}
