//! The test kit: a tree started for a test, faults injected by path, expectations on its
//! events that wait (on Tokio's paused clock) and say what happened instead.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::faults::{Fault, FaultBoard};
use crate::error::{SupervisorError, closest};
use crate::model::{ChildKind, ServicePhase, TerminationReason};
use crate::observe::{EventKind, EventStream, FailureKind, LifecycleEvent};
use crate::runtime::{ShutdownReport, Supervisor, SupervisorConfig, SupervisorHandle};
use crate::spec::SupervisorSpec;

/// How long (on the test's clock) an expectation waits before it fails.
pub const DEFAULT_PATIENCE: Duration = Duration::from_secs(60);

/// What an expected event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventPattern {
    /// Attempt `attempt` started (1: the first start).
    Started {
        /// Its number.
        attempt: u32,
    },
    /// A restart: attempt `attempt` (2 or more) started.
    Restarted {
        /// Its number.
        attempt: u32,
    },
    /// An attempt failed (an error, a panic, a missed deadline): it backs off, or it
    /// terminated for that.
    Failed,
    /// An attempt panicked.
    Panicked,
    /// It backs off towards its next attempt (after a failure or a clean exit).
    BackingOff,
    /// Its phase became this one.
    Phase(ServicePhase),
    /// It terminated for good, for whatever reason.
    Terminated,
    /// Its circuit breaker opened.
    CircuitOpen,
    /// An operator command for it was accepted.
    Command,
    /// A supervisor gave up (restart intensity, an escalating breaker).
    Escalated,
    /// Shutdown began.
    ShutdownRequested,
    /// Shutdown completed.
    ShutdownCompleted,
    /// Messages of its mailbox were dead-lettered.
    DeadLettered,
    /// It drained its mailbox at shutdown.
    MailboxDrained,
    /// Any event.
    Any,
}

impl EventPattern {
    /// Whether `kind` is such an event.
    pub fn matches(&self, kind: &EventKind) -> bool {
        let failed_cause = |cause: &Option<crate::observe::FailureMessage>| cause.is_some();
        match (self, kind) {
            (EventPattern::Any, _) => true,
            (EventPattern::Started { attempt }, EventKind::Started { attempt: a }) => a == attempt,
            (EventPattern::Restarted { attempt }, EventKind::Started { attempt: a }) => {
                *a >= 2 && a == attempt
            }
            (EventPattern::Failed, EventKind::BackingOff { cause, .. }) => failed_cause(cause),
            (EventPattern::Failed, EventKind::Terminated(reason)) => {
                !reason.is_clean() && *reason != TerminationReason::Removed
            }
            (EventPattern::Panicked, EventKind::BackingOff { cause, .. }) => cause
                .as_ref()
                .is_some_and(|cause| cause.kind() == Some(FailureKind::Panic)),
            (EventPattern::Panicked, EventKind::Terminated(TerminationReason::Panicked(_))) => true,
            (EventPattern::BackingOff, EventKind::BackingOff { .. }) => true,
            (EventPattern::Phase(phase), EventKind::PhaseChanged { to, .. }) => to == phase,
            (EventPattern::Terminated, EventKind::Terminated(_)) => true,
            (
                EventPattern::CircuitOpen,
                EventKind::Terminated(TerminationReason::CircuitBreakerOpen { .. }),
            ) => true,
            (EventPattern::Command, EventKind::Command(_)) => true,
            (EventPattern::Escalated, EventKind::Escalated(_)) => true,
            (EventPattern::ShutdownRequested, EventKind::ShutdownRequested { .. }) => true,
            (EventPattern::ShutdownCompleted, EventKind::ShutdownCompleted) => true,
            (EventPattern::DeadLettered, EventKind::DeadLettered { .. }) => true,
            (EventPattern::MailboxDrained, EventKind::MailboxDrained { .. }) => true,
            _ => false,
        }
    }
}

/// One step of an expected sequence: a pattern, for one path or any (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The event's path (`bot/market_feed`), or any.
    pub path: Option<String>,
    /// What it is.
    pub pattern: EventPattern,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?}",
            self.path.as_deref().unwrap_or("_"),
            self.pattern
        )
    }
}

/// A tree under test. Use it on Tokio's paused clock
/// (`#[tokio::test(start_paused = true)]`): time then passes only when every task waits, so
/// a backoff of 30 s takes no time and every run is the same.
///
/// ```
/// use supervisor::prelude::*;
/// use supervisor::testing::{EventPattern, TestKit};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let spec = SupervisorSpec::builder("bot")
///     .child(service_fn("feed", |ctx| async move { ctx.cancelled().await }))
///     .build()
///     .unwrap();
/// let mut kit = TestKit::start(spec).await.unwrap();
/// kit.expect("bot/feed", EventPattern::Started { attempt: 1 }).await;
/// kit.fail("bot/feed", "connection reset");
/// kit.expect("bot/feed", EventPattern::Failed).await;
/// kit.expect("bot/feed", EventPattern::Restarted { attempt: 2 }).await;
/// kit.shutdown().await;
/// # }
/// ```
pub struct TestKit {
    tree: SupervisorHandle,
    board: Arc<FaultBoard>,
    /// The declared children's paths and kinds (added ones are known from the board).
    paths: BTreeMap<String, ChildKind>,
    stream: EventStream,
    /// Every event so far, in order.
    seen: Vec<LifecycleEvent>,
    /// Expectations look from here on.
    cursor: usize,
    patience: Duration,
}

impl TestKit {
    /// Starts `spec` for a test: no signal handling, jitter from a fixed seed.
    ///
    /// # Errors
    ///
    /// As [`Supervisor::start_with_config`].
    pub async fn start(spec: SupervisorSpec) -> Result<Self, SupervisorError> {
        let config = SupervisorConfig::default()
            .without_signal_handler()
            .with_rng_seed(0);
        Self::start_with_config(spec, config).await
    }

    /// Starts `spec` with `config` (its signal handling left as given).
    ///
    /// # Errors
    ///
    /// As [`Supervisor::start_with_config`].
    pub async fn start_with_config(
        spec: SupervisorSpec,
        config: SupervisorConfig,
    ) -> Result<Self, SupervisorError> {
        let board = Arc::new(FaultBoard::default());
        let paths = spec.paths();
        let tree =
            Supervisor::start_with_config(spec, config.with_faults(Arc::clone(&board))).await?;
        let stream = tree.subscribe_from(0);
        Ok(TestKit {
            tree,
            board,
            paths,
            stream,
            seen: Vec::new(),
            cursor: 0,
            patience: DEFAULT_PATIENCE,
        })
    }

    /// The tree, for commands and queries.
    pub fn tree(&self) -> &SupervisorHandle {
        &self.tree
    }

    /// How long expectations wait (on the test's clock) before failing; 60 s by default, at
    /// most [`MAX_DURATION`](crate::MAX_DURATION).
    pub fn with_patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// Injects a fault into the async child at `path`: into its current attempt, or its next
    /// one if none runs now. The child's code is not changed: the fault acts around it.
    ///
    /// # Panics
    ///
    /// When `path` names no async child: none declared there or started there since (with
    /// the closest path, for a typo), or a blocking worker or a supervisor, which faults do
    /// not reach.
    pub fn inject(&self, path: &str, fault: Fault) {
        self.check_target(path);
        self.board.inject(path, fault);
    }

    fn check_target(&self, path: &str) {
        match self.paths.get(path) {
            Some(ChildKind::Async) => {}
            Some(ChildKind::Blocking) => panic!(
                "cannot inject a fault into `{path}`: it is a blocking worker, and faults reach \
                 async children only (a thread cannot be stopped from outside, so it would \
                 outlive the attempt the fault ended)"
            ),
            Some(ChildKind::Supervisor) => panic!(
                "cannot inject a fault into `{path}`: it is a supervisor; inject into one of its \
                 children, or restart it with `kit.tree().restart_child`"
            ),
            None if self.board.knows(path) => {}
            None => {
                let hint = match closest(path, self.paths.keys().map(String::as_str)) {
                    Some(close) => format!("; did you mean `{close}`?"),
                    None => format!(
                        "; paths start at the root, as in `{}`",
                        self.paths
                            .keys()
                            .next()
                            .map_or("root/child", String::as_str)
                    ),
                };
                panic!("cannot inject a fault into `{path}`: no async child there{hint}");
            }
        }
    }

    /// Its attempt fails with `message`, as if the service had returned that error.
    pub fn fail(&self, path: &str, message: &str) {
        self.inject(path, Fault::Fail(message.to_owned()));
    }

    /// Its attempt panics with `message`.
    pub fn panic(&self, path: &str, message: &str) {
        self.inject(path, Fault::Panic(message.to_owned()));
    }

    /// Its attempt returns `Ok(())`.
    pub fn exit(&self, path: &str) {
        self.inject(path, Fault::Exit);
    }

    /// Its attempt hangs: it is no longer polled, sends no heartbeat and ignores its
    /// cancellation.
    pub fn hang(&self, path: &str) {
        self.inject(path, Fault::Hang);
    }

    /// Its attempt takes `delay` longer to stop once cancelled.
    pub fn slow_stop(&self, path: &str, delay: Duration) {
        self.inject(path, Fault::SlowStop(delay));
    }

    /// Lets `duration` pass on the test's clock (every task runs as far as it can).
    pub async fn advance(&mut self, duration: Duration) {
        tokio::time::sleep(duration).await;
        self.drain();
    }

    /// Every event so far.
    pub fn events(&mut self) -> &[LifecycleEvent] {
        self.drain();
        &self.seen
    }

    /// Waits for the next event at `path` matching `pattern`, after the last one an
    /// expectation matched; returns it.
    ///
    /// # Panics
    ///
    /// When none comes within the patience, with every event seen after that point.
    pub async fn expect(&mut self, path: &str, pattern: EventPattern) -> LifecycleEvent {
        let expected = Expected {
            path: Some(path.to_owned()),
            pattern,
        };
        self.expect_sequence(std::slice::from_ref(&expected))
            .await
            .remove(0)
    }

    /// Waits for events matching `expected` in this order (others may come between them);
    /// returns the matched ones. See [`expect_events!`](crate::expect_events).
    ///
    /// # Panics
    ///
    /// When the sequence is not complete within the patience, naming the first step not
    /// matched and listing every event seen from where the sequence began.
    pub async fn expect_sequence(&mut self, expected: &[Expected]) -> Vec<LifecycleEvent> {
        let start = self.cursor;
        let deadline = tokio::time::Instant::now() + self.patience.min(crate::MAX_DURATION);
        let mut matched = Vec::with_capacity(expected.len());
        let mut step = 0;
        while step < expected.len() {
            while self.cursor < self.seen.len() && step < expected.len() {
                let event = &self.seen[self.cursor];
                self.cursor += 1;
                let want = &expected[step];
                if want.path.as_deref().is_none_or(|path| path == &*event.path)
                    && want.pattern.matches(&event.kind)
                {
                    matched.push(event.clone());
                    step += 1;
                }
            }
            if step == expected.len() {
                break;
            }
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Ok(event))) => self.seen.push(event),
                // Events the journal dropped: it holds fewer than were made.
                Ok(Some(Err(_))) => {}
                Ok(None) | Err(_) => {
                    let seen: Vec<String> = self.seen[start..]
                        .iter()
                        .map(|e| format!("  {e}"))
                        .collect();
                    let steps: Vec<String> = expected.iter().map(|e| format!("  {e}")).collect();
                    panic!(
                        "expected {} within {:?}{}; matched {step} of\n{}\nevents seen:\n{}",
                        expected[step],
                        self.patience,
                        if self.tree.is_shutting_down() {
                            " (the tree has ended)"
                        } else {
                            ""
                        },
                        steps.join("\n"),
                        if seen.is_empty() {
                            "  (none)".to_owned()
                        } else {
                            seen.join("\n")
                        },
                    );
                }
            }
        }
        matched
    }

    /// Shuts the tree down and returns its report.
    pub async fn shutdown(mut self) -> ShutdownReport {
        let report = self.tree.shutdown_tree("test", "the test is done").await;
        self.drain();
        report
    }

    /// Takes in the events already there, without waiting.
    fn drain(&mut self) {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            let next = self.stream.next();
            let mut next = std::pin::pin!(next);
            match next.as_mut().poll(&mut cx) {
                Poll::Ready(Some(Ok(event))) => self.seen.push(event),
                Poll::Ready(Some(Err(_))) => {}
                Poll::Ready(None) | Poll::Pending => return,
            }
        }
    }
}

/// Waits for an ordered sequence of events (others may come between), each `path =>
/// pattern`, with `_` for any path; on a mismatch the panic lists the events seen.
///
/// ```
/// use supervisor::prelude::*;
/// use supervisor::expect_events;
/// use supervisor::testing::{EventPattern::*, TestKit};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let spec = SupervisorSpec::builder("bot")
///     .child(service_fn("feed", |ctx| async move { ctx.cancelled().await }))
///     .build()
///     .unwrap();
/// let mut kit = TestKit::start(spec).await.unwrap();
/// kit.panic("bot/feed", "bad frame");
/// expect_events!(kit, [
///     "bot/feed" => Started { attempt: 1 },
///     "bot/feed" => Panicked,
///     "bot/feed" => Restarted { attempt: 2 },
/// ]);
/// kit.tree().shutdown_tree("test", "done").await;
/// expect_events!(kit, [_ => ShutdownRequested, "bot" => ShutdownCompleted]);
/// # }
/// ```
#[macro_export]
macro_rules! expect_events {
    ($kit:expr, [$($path:tt => $pattern:expr),* $(,)?]) => {
        $kit.expect_sequence(&[
            $($crate::testing::Expected {
                path: $crate::expect_events!(@path $path),
                pattern: $pattern,
            }),*
        ]).await
    };
    (@path _) => { ::std::option::Option::None };
    (@path $path:expr) => { ::std::option::Option::Some(::std::string::String::from($path)) };
    ($($anything:tt)*) => {
        ::std::compile_error!(
            "expected `expect_events!(kit, [\"bot/feed\" => Started { attempt: 1 }, _ => ShutdownCompleted])`: the kit, then a list of `path => pattern` with `_` for any path"
        )
    };
}
