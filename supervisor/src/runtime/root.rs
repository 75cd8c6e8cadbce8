//! The root of a running tree, behind both front doors ([`Supervisor`](crate::Supervisor) and
//! [`SupervisorHandle`](crate::SupervisorHandle)).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::attempt::CatchPanic;
use super::command::{Action, ChildCounts, CommandReceipt, CommandRequest, Reply};
use super::node::{Node, NodeSetup};
use super::probe::Probe;
use super::record::{Ended, states};
use super::shutdown_report::ShutdownReport;
use super::signal::{ShutdownSignals, next_signal};
use super::snapshot::ServiceLifecycleSnapshot;
use super::tree::{Names, NestedLink, NodeAnswer, NodeMessage, ShutdownCause, TreeShared, lock};
use super::tree_state::{ChildState, IntensityUse, TreeState};
use crate::error::{CommandError, SpawnError, SupervisorError};
use crate::model::check_name;
use crate::observe::CompactDuration;
use crate::observe::EventStream;
use crate::spec::{ChildSpec, SupervisorSpec};
use std::time::Duration;

pub(crate) struct Root {
    name: Arc<str>,
    spec: Arc<SupervisorSpec>,
    pub(crate) tree: Arc<TreeShared>,
    notify: UnboundedSender<NodeMessage>,
    handles_signals: bool,
    /// Cancelled by the root node when it begins to shut down, for whatever reason.
    shutting_down: CancellationToken,
    finished: Arc<Finished>,
    state: Mutex<RootState>,
    /// The root node's children by name (shared with it), to refuse duplicates at once.
    names: Names,
}

/// Written once, when the root node's loop has ended (or died).
struct Finished {
    drained: CancellationToken,
    exit: Mutex<Option<Ended>>,
}

/// Cancels `drained` however the root's task ends, so that no handle call waits for ever
/// (even if the runtime drops the task).
struct PublishOnDrop(Arc<Finished>);

impl Drop for PublishOnDrop {
    fn drop(&mut self) {
        self.0.drained.cancel();
    }
}

struct RootState {
    /// The root node until it is started.
    unstarted: Option<Node>,
    task: Option<JoinHandle<()>>,
}

impl Root {
    pub(crate) fn new(
        spec: SupervisorSpec,
        tree: TreeShared,
        handles_signals: bool,
        rng_seed: Option<u64>,
    ) -> Self {
        let (notify, inbox) = unbounded_channel();
        let tree = Arc::new(tree);
        for child in &spec.children {
            // Not a mailbox a child of another tree consumes (this one's would be a clone).
            child.each_mailbox(|mailbox| {
                if crate::mailbox::consumed_within(mailbox.as_ref(), &spec.name) {
                    tree.register_mailbox(mailbox);
                }
            });
        }
        let shutting_down = CancellationToken::new();
        let names = Names::default();
        let name = Arc::clone(&spec.name);
        let spec = Arc::new(spec);
        let node = Node::new(NodeSetup {
            path: Arc::clone(&name),
            spec: Arc::clone(&spec),
            tree: Arc::clone(&tree),
            // The root stops on a Shutdown message, which carries its cause.
            stop: CancellationToken::new(),
            inbox: (notify.clone(), inbox),
            rng_seed,
            context: None,
            shutting_down: shutting_down.clone(),
            abort: tree.abort_now.clone(),
            names: Arc::clone(&names),
            cause: None,
        });
        Root {
            name,
            spec,
            tree,
            notify,
            handles_signals,
            shutting_down,
            finished: Arc::new(Finished {
                drained: CancellationToken::new(),
                exit: Mutex::new(None),
            }),
            state: Mutex::new(RootState {
                unstarted: Some(node),
                task: None,
            }),
            names,
        }
    }

    /// Spawns the root node's loop, once.
    pub(crate) fn start(&self) -> Result<(), SpawnError> {
        let mut state = lock(&self.state);
        if state.unstarted.is_none() {
            return Ok(());
        }
        let runtime = Handle::try_current().map_err(|_| SpawnError::NoRuntime)?;
        if let Some(node) = state.unstarted.take() {
            let finished = Arc::clone(&self.finished);
            let (path, spec) = (Arc::clone(&self.name), Arc::clone(&self.spec));
            let names = Arc::clone(&self.names);
            let tree = Arc::clone(&self.tree);
            state.task = Some(runtime.spawn(async move {
                let publish = PublishOnDrop(finished);
                let mut ended = match CatchPanic::new(node.run()).await {
                    Ok(exit) => Ended::from_exit(exit),
                    Err(message) => {
                        tracing::error!(%message, "internal error: the root's control loop panicked; every task of the tree was aborted");
                        // The children added at run time that are there, in slot order.
                        let mut added: Vec<(usize, Arc<str>)> = lock(&names)
                            .iter()
                            .filter(|(_, index)| **index >= spec.children.len())
                            .map(|(name, &index)| (index, Arc::clone(name)))
                            .collect();
                        added.sort();
                        let added: Vec<Arc<str>> = added.into_iter().map(|(_, n)| n).collect();
                        Ended::lost(&path, &spec, &added, message)
                    }
                };
                // Every attempt has ended: each inbox is back and its counts are final.
                ended.mailboxes = tree.close_mailboxes().await;
                *lock(&publish.0.exit) = Some(ended);
            }));
        }
        Ok(())
    }

    /// The root supervisor's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn add_child(&self, spec: ChildSpec) -> Result<(), SpawnError> {
        if spec.name.is_empty() {
            return Err(SpawnError::EmptyName);
        }
        check_name(&spec.name)?;
        self.start()?;
        // Held until the message is sent, so a shutdown request cannot overtake it.
        let _state = lock(&self.state);
        if self.is_shutting_down() {
            return Err(SpawnError::ShuttingDown);
        }
        {
            let mut names = lock(&self.names);
            if names.contains_key(&spec.name) {
                return Err(SpawnError::DuplicateName(spec.name.to_string()));
            }
            let max = self.spec.max_dynamic_children;
            if names.len().saturating_sub(self.spec.children.len()) >= max {
                return Err(SpawnError::TooManyChildren { max });
            }
            // Reserved until the loop has the child (it then records its index).
            names.insert(Arc::clone(&spec.name), usize::MAX);
        }
        self.notify
            .send(NodeMessage::Spawn(spec))
            .map_err(|_| SpawnError::ShuttingDown)
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.is_cancelled() || self.finished.drained.is_cancelled()
    }

    /// Asks the tree to shut down; returns at once.
    pub(crate) fn request_shutdown(&self, requested_by: &str, reason: &str) {
        let mut state = lock(&self.state);
        if state.unstarted.take().is_some() {
            // Never started: nothing to drain.
            self.shutting_down.cancel();
            self.finished.drained.cancel();
            return;
        }
        self.shutting_down.cancel();
        let cause = ShutdownCause {
            requested_by: requested_by.to_owned(),
            reason: reason.to_owned(),
        };
        // Fails only when the loop has ended already, which is what was asked for.
        let _ = self.notify.send(NodeMessage::Shutdown(cause));
    }

    /// Waits until the tree has ended and no task of it is alive.
    pub(crate) async fn wait_for_drain(&self) -> ShutdownReport {
        self.finished.drained.cancelled().await;
        let task = lock(&self.state).task.take();
        if let Some(task) = task {
            // The loop has published its result; this waits for its task to be gone.
            let _ = task.await;
        }
        self.read_exit(Ended::report).unwrap_or_default()
    }

    pub(crate) async fn run_until_shutdown(&self) -> Result<ShutdownReport, SupervisorError> {
        self.start().map_err(|_| SupervisorError::NoRuntime)?;
        let mut signals = None;
        if self.handles_signals {
            match ShutdownSignals::install() {
                Ok(installed) => signals = Some(installed),
                Err(error) => {
                    self.request_shutdown("supervisor", "signal handlers unavailable");
                    self.wait_for_drain().await;
                    return Err(SupervisorError::Signal(error));
                }
            }
        }
        let drained = self.finished.drained.clone();
        tokio::select! {
            _ = drained.cancelled() => {}
            signal = next_signal(&mut signals) => {
                tracing::info!(signal, "shutdown signal received; draining services");
                self.request_shutdown("signal", signal);
                tokio::select! {
                    _ = drained.cancelled() => {}
                    signal = next_signal(&mut signals) => {
                        tracing::warn!(signal, "second signal during shutdown; aborting services now");
                        self.tree.abort_now.cancel();
                    }
                }
            }
        }
        let report = self.wait_for_drain().await;
        if let Some(message) = self.read_exit(|exit| exit.internal.clone()).flatten() {
            return Err(SupervisorError::Internal(message));
        }
        match self.read_exit(|exit| exit.failure.clone()).flatten() {
            Some(escalation) => Err(SupervisorError::Escalated(escalation)),
            None => Ok(report),
        }
    }

    /// Returns once the root's loop has handled everything sent before (or has ended).
    pub(crate) async fn sync(&self) {
        let (reply, answer) = oneshot::channel();
        if self.notify.send(NodeMessage::Sync(reply)).is_ok() && answer.await.is_ok() {
            return;
        }
        self.finished.drained.cancelled().await;
    }

    pub(crate) async fn lifecycle_snapshots(&self) -> Vec<ServiceLifecycleSnapshot> {
        if lock(&self.state).unstarted.is_some() {
            return Vec::new();
        }
        let (reply, answer) = oneshot::channel();
        if self.notify.send(NodeMessage::Snapshots(reply)).is_ok()
            && let Ok(snapshots) = answer.await
        {
            return snapshots;
        }
        // The loop is finishing: its final state is about to be published.
        self.finished.drained.cancelled().await;
        self.read_exit(Ended::snapshots).unwrap_or_default()
    }

    pub(crate) async fn current_state(&self) -> TreeState {
        let (intensity, children) = if lock(&self.state).unstarted.is_some() {
            (None, Vec::new())
        } else {
            match query_children(&self.notify).await {
                Some(answer) => answer,
                None => {
                    self.finished.drained.cancelled().await;
                    (None, self.read_exit(Ended::children).unwrap_or_default())
                }
            }
        };
        TreeState {
            name: self.name.to_string(),
            intensity,
            children,
        }
    }

    /// Sends a request to the node owning `target` and waits for its answer (the loop
    /// answers at once; if the owning node ends first, the answer says so).
    pub(crate) async fn request(
        &self,
        action: Action,
        target: &str,
        requested_by: &str,
        reason: &str,
    ) -> Result<Reply, CommandError> {
        if *target == *self.name && !action.targets_a_supervisor() {
            return Err(CommandError::NotAChild {
                path: target.to_owned(),
            });
        }
        if self.is_shutting_down() || self.start().is_err() {
            return Err(CommandError::ShuttingDown);
        }
        let (reply, answer) = oneshot::channel();
        let request = CommandRequest {
            id: self.tree.next_id(),
            action,
            target: target.to_owned(),
            requested_by: requested_by.to_owned(),
            reason: reason.to_owned(),
            reply,
        };
        self.notify
            .send(NodeMessage::Command(Box::new(request)))
            .map_err(|_| CommandError::ShuttingDown)?;
        match answer.await {
            Ok(result) => result,
            Err(_) if self.is_shutting_down() => Err(CommandError::ShuttingDown),
            Err(_) => Err(CommandError::Interrupted {
                path: target.to_owned(),
            }),
        }
    }

    /// A request answered with a receipt.
    pub(crate) async fn command(
        &self,
        action: Action,
        target: &str,
        requested_by: &str,
        reason: &str,
    ) -> Result<CommandReceipt, CommandError> {
        match self.request(action, target, requested_by, reason).await? {
            Reply::Receipt(receipt) => Ok(receipt),
            // Not sent: a node answers each action with its kind of reply.
            Reply::Counts(_) => Err(CommandError::Interrupted {
                path: target.to_owned(),
            }),
        }
    }

    pub(crate) async fn count_children(
        &self,
        supervisor: &str,
    ) -> Result<ChildCounts, CommandError> {
        match self.request(Action::Count, supervisor, "", "").await? {
            Reply::Counts(counts) => Ok(counts),
            // Not sent, as above.
            Reply::Receipt(_) => Err(CommandError::Interrupted {
                path: supervisor.to_owned(),
            }),
        }
    }

    /// Whether every control loop of the tree answers a state query within `within`.
    pub(crate) async fn liveness(&self, within: Duration) -> Probe {
        if self.finished.drained.is_cancelled() {
            return match self.read_exit(Ended::report).and_then(|r| r.internal_error) {
                Some(error) => {
                    Probe::fail(format!("the tree ended with an internal error: {error}"))
                }
                None => Probe::fail("the tree has ended"),
            };
        }
        if lock(&self.state).unstarted.is_some() {
            return Probe::pass();
        }
        match tokio::time::timeout(within, query_children(&self.notify)).await {
            Ok(Some(_)) => Probe::pass(),
            Ok(None) => Probe::fail("the tree has ended"),
            Err(_) => Probe::fail(format!(
                "a control loop did not answer within {}",
                CompactDuration(within)
            )),
        }
    }

    /// The shutdown report, once the tree has ended.
    pub(crate) fn final_report(&self) -> Option<ShutdownReport> {
        if !self.finished.drained.is_cancelled() {
            return None;
        }
        self.read_exit(Ended::report)
    }

    /// The journal's events from `from` on, then live ones until the tree has ended.
    pub(crate) fn subscribe_from(&self, from: u64) -> EventStream {
        let (missed, replay, live) = self.tree.subscribe_from(from);
        EventStream::new(missed, replay, live, self.finished.drained.clone())
    }

    #[cfg(feature = "fault-injection")]
    pub(crate) fn inject_panic(&self, path: &str) {
        let _ = self.notify.send(NodeMessage::InjectPanic(path.to_owned()));
    }

    fn read_exit<T>(&self, read: impl FnOnce(&Ended) -> T) -> Option<T> {
        lock(&self.finished.exit).as_ref().map(read)
    }
}

async fn ask(inbox: &UnboundedSender<NodeMessage>) -> Option<NodeAnswer> {
    let (reply, answer) = oneshot::channel();
    inbox.send(NodeMessage::State(reply)).ok()?;
    answer.await.ok()
}

/// Where a nested supervisor's answer belongs: the answer holding its state, and its position
/// there.
type Place = (usize, usize);

/// A node's intensity in use and its children with their nested children filled in, or `None`
/// if the node is gone. Nodes are asked one after another from a queue (no future nested per
/// level); each answer's list is then moved, whole, into the state of its supervisor, so no
/// child's state is copied after its node made it.
async fn query_children(
    inbox: &UnboundedSender<NodeMessage>,
) -> Option<(Option<IntensityUse>, Vec<ChildState>)> {
    let first = ask(inbox).await?;
    let intensity = first.intensity;
    let mut answers: Vec<(Vec<ChildState>, Option<Place>)> = vec![(first.children, None)];
    let mut queue: VecDeque<(usize, usize, Arc<NestedLink>)> = first
        .running
        .into_iter()
        .map(|(position, link)| (0, position, link))
        .collect();
    while let Some((parent, position, link)) = queue.pop_front() {
        let live = match link.inbox() {
            Some(inbox) => ask(&inbox).await,
            None => None,
        };
        let Some(state) = answers
            .get_mut(parent)
            .and_then(|(states, _)| states.get_mut(position))
        else {
            continue;
        };
        match live {
            Some(answer) => {
                state.intensity = answer.intensity;
                let id = answers.len();
                queue.extend(
                    answer
                        .running
                        .into_iter()
                        .map(|(position, link)| (id, position, link)),
                );
                answers.push((answer.children, Some((parent, position))));
            }
            // It ended meanwhile: as its last run left it.
            None => {
                state.children = lock(&link.last_run)
                    .as_deref()
                    .map(states)
                    .unwrap_or_default();
            }
        }
    }
    // An answer comes after its supervisor's: from the last one back, each list is complete
    // when it is moved into its supervisor's state.
    while answers.len() > 1 {
        if let Some((children, Some((parent, position)))) = answers.pop()
            && let Some(state) = answers
                .get_mut(parent)
                .and_then(|(states, _)| states.get_mut(position))
        {
            state.children = children;
        }
    }
    let (children, _) = answers.pop()?;
    Some((intensity, children))
}
