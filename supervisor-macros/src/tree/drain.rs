//! Drain edges at one level of the tree: a child whose subtree sends into a mailbox that a
//! sibling's subtree consumes stops before that sibling at shutdown. With the dependency
//! edges, the stop order must have no cycle.

use proc_macro2::Span;

use super::graph;
use super::mailbox::Mailboxes;
use super::parse::{Child, ChildKind, Tree};
use crate::common::errors::Errors;

/// Per child of one supervisor: the mailboxes its subtree consumes, and those it sends
/// into, each with where.
pub(crate) struct Drains {
    consumes: Vec<Vec<String>>,
    feeds: Vec<Vec<(String, Span)>>,
}

impl Drains {
    pub(crate) fn of(tree: &Tree, mailboxes: &Mailboxes) -> Self {
        let mut consumes = Vec::new();
        let mut feeds = Vec::new();
        for child in &tree.children {
            let (mut eaten, mut fed) = (Vec::new(), Vec::new());
            subtree(child, &mut eaten, &mut fed);
            // A consumer sends its dead letters on.
            for (name, span) in &eaten {
                if let Some(sink) = mailboxes.get(name).and_then(|m| m.dead_letters.as_ref()) {
                    fed.push((sink.to_string(), *span));
                }
            }
            consumes.push(eaten.into_iter().map(|(name, _)| name).collect());
            feeds.push(fed);
        }
        Drains { consumes, feeds }
    }

    /// Where child `producer` sends into a mailbox child `consumer` consumes, if it does.
    fn sends_into(&self, producer: usize, consumer: usize) -> Option<(&str, Span)> {
        if producer == consumer {
            return None;
        }
        self.feeds[producer]
            .iter()
            .find(|(name, _)| self.consumes[consumer].contains(name))
            .map(|(name, span)| (name.as_str(), *span))
    }

    /// Reports a cycle of the stop order, one error per edge; returns the stop order (each
    /// child after its dependents and its producers, otherwise newest first), or nothing
    /// when there is a cycle or no drain edge.
    pub(crate) fn check(
        &self,
        tree: &Tree,
        path: &str,
        dependencies: &[Vec<usize>],
        errors: &mut Errors,
    ) -> Vec<usize> {
        let n = tree.children.len();
        let producers: Vec<Vec<usize>> = (0..n)
            .map(|c| {
                (0..n)
                    .filter(|&p| self.sends_into(p, c).is_some())
                    .collect()
            })
            .collect();
        if producers.iter().all(Vec::is_empty) {
            return Vec::new();
        }
        let mut stops_after = producers.clone();
        for (dependent, deps) in dependencies.iter().enumerate() {
            for &dependency in deps {
                stops_after[dependency].push(dependent);
            }
        }
        let key = |i: usize| tree.children[i].key.to_string();
        if let Err(cycle) = graph::startup_order(&stops_after) {
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|pair| match self.sends_into(pair[1], pair[0]) {
                    Some((mailbox, _)) => format!(
                        "`{}` drains `{mailbox}`, which `{}` sends into",
                        key(pair[0]),
                        key(pair[1])
                    ),
                    None => format!("`{}` depends on `{}`", key(pair[1]), key(pair[0])),
                })
                .collect();
            let message = format!(
                "shutdown order cycle in `{path}`: {}; each stops after the other. Drop the `after`, or send through `.external()`, whose sends the tree does not wait for",
                steps.join(", and ")
            );
            for pair in cycle.windows(2) {
                let (later, earlier) = (pair[0], pair[1]);
                match self.sends_into(earlier, later) {
                    Some((_, span)) => errors.push(syn::Error::new(span, &message)),
                    None => {
                        let dependent = &tree.children[earlier];
                        let written = dependent
                            .after
                            .iter()
                            .chain(&dependent.requires)
                            .find(|d| **d == key(later));
                        if let Some(dep) = written {
                            errors.push_at(dep, &message);
                        }
                    }
                }
            }
            return Vec::new();
        }
        let Ok(startup) = graph::startup_order(dependencies) else {
            return Vec::new();
        };
        graph::stop_order(&startup, &stops_after)
    }
}

/// The mailboxes `child` and its descendants consume and send into.
fn subtree(child: &Child, consumes: &mut Vec<(String, Span)>, feeds: &mut Vec<(String, Span)>) {
    let mut pending = vec![child];
    while let Some(child) = pending.pop() {
        let named = |(name, span): &(syn::Ident, Span)| (name.to_string(), *span);
        consumes.extend(child.mailboxes.consumes.iter().map(named));
        feeds.extend(child.mailboxes.sends.iter().map(named));
        if let ChildKind::Nested(nested) = &child.kind {
            pending.extend(&nested.children);
        }
    }
}
