//! Children added and removed at run time: `add_child`, a pool's `start_child`,
//! `remove_child`, `count_children`.

use super::{NO_BATCH, Node, Stop, StopPurpose};
use crate::error::{CommandError, ConfigError, SpecError};
use crate::model::{ChildKind, MAX_NESTING_DEPTH, ServicePhase, TerminationReason};
use crate::runtime::command::{ChildCounts, Command, CommandRequest, Reply};
use crate::runtime::tree::lock;
use crate::spec::{ChildSpec, check_added_child};

impl Node {
    /// `add_child` (and a pool's `start_child`): checked as a declared child is, within the
    /// supervisor's limit, then started.
    pub(super) fn add_by_command(
        &mut self,
        spec: ChildSpec,
        command: Command,
        request: &CommandRequest,
    ) -> Result<Reply, CommandError> {
        let supervisor = self.path.to_string();
        let max = self.spec.max_dynamic_children;
        if max == 0 {
            return Err(CommandError::DynamicChildrenNotAllowed { supervisor });
        }
        if self.dynamic_count() >= max {
            return Err(CommandError::TooManyChildren { supervisor, max });
        }
        let path = format!("{supervisor}/{}", spec.name);
        check_added_child(&supervisor, self.spec.auto_shutdown, &spec)
            .map_err(CommandError::InvalidChild)?;
        if spec
            .policy
            .dependencies
            .iter()
            .chain(&spec.policy.requirements)
            .next()
            .is_some()
        {
            return Err(CommandError::InvalidChild(SpecError::Invalid {
                path,
                error: ConfigError::new(
                    "after / requires",
                    spec.policy
                        .dependencies
                        .iter()
                        .chain(&spec.policy.requirements)
                        .map(|d| &**d)
                        .collect::<Vec<_>>()
                        .join(", "),
                    "no dependencies: a child added at run time cannot depend on its siblings",
                ),
            }));
        }
        let level = self.path.split('/').count();
        let depth = level + spec.nested().map_or(0, |nested| nested.depth);
        if depth > MAX_NESTING_DEPTH {
            return Err(CommandError::InvalidChild(SpecError::TooDeep {
                supervisor,
                depth,
                max: MAX_NESTING_DEPTH,
            }));
        }
        if lock(&self.names).contains_key(&spec.name) {
            return Err(CommandError::DuplicateName { path });
        }
        self.check_no_second_consumer(&spec, &path)?;
        let index = self.add_dynamic(spec);
        self.audit(index, command, request, path.clone());
        self.try_start(index);
        Ok(request.receipt(path, self.slots[index].phase, true))
    }

    /// A child added at run time must not consume a mailbox another child of the tree (or of
    /// another tree) consumes already, a consumer's spec cloned: its attempts would be
    /// refused the inbox.
    fn check_no_second_consumer(&self, spec: &ChildSpec, path: &str) -> Result<(), CommandError> {
        let mut clash = None;
        spec.each_mailbox(|mailbox| {
            if clash.is_none() && !crate::mailbox::consumed_within(mailbox.as_ref(), path) {
                let consumer = mailbox.other_consumer(path).unwrap_or_default();
                clash = Some((mailbox.name().to_owned(), consumer.to_string()));
            }
        });
        let Some((mailbox, consumer)) = clash else {
            return Ok(());
        };
        let mut consumers = [consumer, path.to_owned()];
        consumers.sort();
        Err(CommandError::InvalidChild(
            SpecError::MailboxConsumedTwice { mailbox, consumers },
        ))
    }

    /// A pool's `start_child`: its template makes the child, named by the next number.
    pub(super) fn start_pool_child(
        &mut self,
        args: Box<dyn std::any::Any + Send>,
        request: &CommandRequest,
    ) -> Result<Reply, CommandError> {
        let Some(template) = self.spec.pool.clone() else {
            return Err(CommandError::NotAPool {
                supervisor: self.path.to_string(),
            });
        };
        let spec = template
            .make(args)
            .map_err(|_| CommandError::WrongArguments {
                pool: self.path.to_string(),
                expected: template.arguments,
            })?;
        // The next number no child has: a pool's own numbers never repeat, and a declared
        // child may not hold one either. Taken only if the child is added.
        let mut number = self.pool_serial;
        let name = loop {
            number = number.saturating_add(1);
            let name = number.to_string();
            if !lock(&self.names).contains_key(name.as_str()) {
                break name;
            }
        };
        let added = self.add_by_command(spec.with_name(name), Command::StartChild, request)?;
        self.pool_serial = number;
        Ok(added)
    }

    pub(super) fn counts(&self) -> ChildCounts {
        let mut counts = ChildCounts::default();
        for index in self.present() {
            counts.specs += 1;
            counts.active += usize::from(self.slots[index].phase.is_alive());
            match self.child_spec(index).kind() {
                ChildKind::Supervisor => counts.supervisors += 1,
                _ => counts.workers += 1,
            }
        }
        counts
    }

    /// `remove_child`: stopped if alive, then terminated and released.
    pub(super) fn remove(&mut self, index: usize) {
        if let Some(group) = self.slots[index].group {
            self.leave_group(index, group);
        }
        match self.slots[index].phase {
            ServicePhase::Starting | ServicePhase::Running => {
                self.slots[index].stop = Some(Stop {
                    purpose: StopPurpose::Remove,
                    issued: false,
                    killed: false,
                    detached: false,
                    abort_batch: NO_BATCH,
                });
                self.slots[index].cause = self.correlation;
                self.issue_free_stops(std::iter::once(index));
            }
            ServicePhase::Stopping => {
                if let Some(stop) = &mut self.slots[index].stop {
                    stop.purpose = StopPurpose::Remove;
                }
                self.slots[index].cause = self.correlation;
            }
            ServicePhase::Terminated => {
                self.slots[index].termination = Some(TerminationReason::Removed);
                self.release_if_done(index);
            }
            _ => {
                self.clear_timer(index);
                self.terminate_quietly(index, TerminationReason::Removed);
                self.release_if_done(index);
            }
        }
    }
}
