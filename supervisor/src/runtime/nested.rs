//! A supervisor running as the child of another.

use std::sync::Arc;

use tokio::sync::mpsc::unbounded_channel;
use tokio_util::sync::CancellationToken;

use super::node::{Node, NodeSetup};
use super::tree::{Names, NestedLink, TreeShared, lock};
use crate::context::TaskContext;
use crate::error::ServiceError;
use crate::runtime::MakeAttempt;
use crate::service::ServiceFuture;
use crate::spec::SupervisorSpec;

/// What one run of a nested supervisor needs from its parent.
#[derive(Clone)]
pub(crate) struct NestedRun {
    pub(crate) path: Arc<str>,
    pub(crate) spec: Arc<SupervisorSpec>,
    pub(crate) tree: Arc<TreeShared>,
    pub(crate) link: Arc<NestedLink>,
    pub(crate) rng_seed: Option<u64>,
    /// Cancelled by the parent to kill this node: it aborts its children, then reconciles.
    pub(crate) abort: CancellationToken,
    /// The correlation of what started it (its children's first starts carry it).
    pub(crate) cause: Option<u64>,
}

/// The attempt of a nested supervisor, made on its task's first poll like any other.
pub(crate) struct NestedAttempt(pub(crate) NestedRun);

impl MakeAttempt for NestedAttempt {
    type Future = ServiceFuture<'static>;

    fn make(self: Arc<Self>, ctx: TaskContext) -> Self::Future {
        Box::pin(run_nested(self.0.clone(), ctx))
    }
}

/// One attempt of a nested supervisor: its own control loop, stopped through its context's
/// token. Giving up (intensity exceeded) is returned as this attempt's error, so the parent
/// sees the escalation as a child failure. Its final records are left in the link; if its loop
/// dies instead, the link stays empty and the parent falls back to the spec.
pub(crate) async fn run_nested(run: NestedRun, ctx: TaskContext) -> Result<(), ServiceError> {
    let NestedRun {
        path,
        spec,
        tree,
        link,
        rng_seed,
        abort,
        cause,
    } = run;
    let (notify, inbox) = unbounded_channel();
    *lock(&link.inbox) = Some(notify.clone());
    *lock(&link.last_run) = None;
    let node = Node::new(NodeSetup {
        path,
        spec,
        tree,
        stop: ctx.cancellation_token().clone(),
        inbox: (notify, inbox),
        rng_seed,
        context: Some(ctx),
        shutting_down: CancellationToken::new(),
        abort,
        names: Names::default(),
        cause,
    });
    let _closed = CloseInbox(&link);
    let exit = node.run().await;
    *lock(&link.last_run) = Some(exit.children);
    match exit.failure {
        Some(escalation) => Err(ServiceError::transient(escalation)),
        None => Ok(()),
    }
}

/// Removes the node's inbox from the link however its run ends (a panic included).
struct CloseInbox<'a>(&'a NestedLink);

impl Drop for CloseInbox<'_> {
    fn drop(&mut self) {
        *lock(&self.0.inbox) = None;
    }
}
