//! A supervisor running as the child of another.

use std::sync::Arc;

use tokio::sync::mpsc::unbounded_channel;

use super::node::{Node, NodeSetup};
use super::tree::{NestedLink, TreeShared, lock};
use crate::context::TaskContext;
use crate::error::ServiceError;
use crate::spec::SupervisorSpec;

/// One attempt of a nested supervisor: its own control loop, stopped through its context's
/// token. Giving up (intensity exceeded) is returned as this attempt's error, so the parent
/// sees the escalation as a child failure.
pub(crate) async fn run_nested(
    path: Arc<str>,
    spec: Arc<SupervisorSpec>,
    tree: Arc<TreeShared>,
    link: Arc<NestedLink>,
    rng_seed: Option<u64>,
    ctx: TaskContext,
) -> Result<(), ServiceError> {
    let (notify, inbox) = unbounded_channel();
    *lock(&link.inbox) = Some(notify.clone());
    let node = Node::new(NodeSetup {
        path,
        spec,
        tree,
        stop: ctx.cancellation_token().clone(),
        inbox: (notify, inbox),
        rng_seed,
        context: Some(ctx),
        shutting_down: tokio_util::sync::CancellationToken::new(),
    });
    let exit = node.run().await;
    *lock(&link.inbox) = None;
    *lock(&link.last_run) = Some((exit.children, exit.report));
    match exit.failure {
        Some(escalation) => Err(ServiceError::transient(escalation)),
        None => Ok(()),
    }
}
