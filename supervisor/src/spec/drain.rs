//! Drain edges: at the tree's shutdown, a mailbox's consumer stops only after the children
//! that send into it, so that it receives their last messages. Between siblings, a child
//! whose subtree sends into a mailbox consumed in another's subtree is that one's producer.

use std::collections::HashSet;

use super::child_spec::ChildSpec;
use super::supervisor_spec::Layout;
use crate::error::SpecError;
use crate::policy::startup_order;

/// For each child, the siblings whose subtrees send into a mailbox its subtree consumes;
/// empty when no child consumes a mailbox.
pub(crate) fn producers(children: &[ChildSpec]) -> Vec<Vec<usize>> {
    let consumed: Vec<HashSet<usize>> = children
        .iter()
        .map(|child| {
            let mut ids = HashSet::new();
            child.each_mailbox(|mailbox| {
                ids.insert(crate::mailbox::MailboxRef(std::sync::Arc::clone(mailbox)).id());
            });
            ids
        })
        .collect();
    if consumed.iter().all(HashSet::is_empty) {
        return Vec::new();
    }
    let fed: Vec<HashSet<usize>> = children
        .iter()
        .map(|child| {
            let mut ids = HashSet::new();
            child.each_produced(|mailbox| {
                ids.insert(mailbox.id());
            });
            ids
        })
        .collect();
    consumed
        .iter()
        .enumerate()
        .map(|(consumer, ids)| {
            (0..children.len())
                .filter(|&producer| producer != consumer && !fed[producer].is_disjoint(ids))
                .collect()
        })
        .collect()
}

/// Every child can be stopped in some order: after those that depend on it, and, as a
/// consumer, after its producers. A cycle through both is an error naming it.
pub(crate) fn check_shutdown_order(
    supervisor: &str,
    children: &[ChildSpec],
    layout: &Layout,
) -> Result<(), SpecError> {
    if !layout.has_drains() {
        return Ok(());
    }
    // What each child stops after: "depends on" edges of the stop order.
    let stops_after: Vec<Vec<usize>> = (0..children.len())
        .map(|i| {
            let mut after = layout.dependents(i).to_vec();
            after.extend_from_slice(layout.drain_producers(i));
            after
        })
        .collect();
    startup_order(&stops_after).map(drop).map_err(|cycle| {
        let reasons = cycle
            .windows(2)
            .map(|pair| {
                let (later, earlier) = (pair[0], pair[1]);
                let why = if layout.drain_producers(later).contains(&earlier) {
                    "sends into its mailbox"
                } else {
                    "depends on it"
                };
                format!(
                    "`{}` stops after `{}` ({why})",
                    children[later].name(),
                    children[earlier].name()
                )
            })
            .collect();
        SpecError::ShutdownOrderCycle {
            supervisor: supervisor.to_owned(),
            cycle: reasons,
        }
    })
}
