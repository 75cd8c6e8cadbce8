//! Telling systemd the truth (feature `systemd`): `READY=1` once the tree has started and is
//! healthy (every explicit-readiness child ready), `WATCHDOG=1` at half the unit's
//! `WatchdogSec=` only while the tree is healthy (so systemd restarts a bot that is up but
//! broken), `STOPPING=1` when shutdown begins, and a one-line `STATUS=` as the tree changes.
//! Messages are formatted by the `sd-notify` crate; without `NOTIFY_SOCKET` (not run by
//! systemd, or `Type=` other than `notify`) nothing is sent and nothing runs.
//!
//! ```no_run
//! use supervisor::prelude::*;
//! use supervisor::systemd::SystemdNotifier;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = SupervisorSpec::builder("bot")
//!     .child(service_fn("feed", |ctx| async move { ctx.cancelled().await }))
//!     .build()?;
//! let tree = Supervisor::start(spec).await?;
//! let _systemd = SystemdNotifier::start(&tree);
//! tree.run_until_shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! A unit for it is in `examples/deploy/trading-bot.service`.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::SupervisorHandle;
use crate::model::ServicePhase;
use crate::observe::EventKind;

/// The longest `settle` honoured (a larger one could overflow the clock).
const MAX_SETTLE: Duration = Duration::from_secs(3_600);

/// The longest time between two watchdog pings (a `WATCHDOG_USEC` of any size cannot
/// overflow the clock).
const MAX_PING_PERIOD: Duration = Duration::from_secs(24 * 3_600);

/// Where and how often to notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdSettings {
    /// The service manager's socket (`NOTIFY_SOCKET`; `@name` for an abstract socket). None:
    /// nothing is sent.
    pub socket: Option<PathBuf>,
    /// The watchdog's timeout (`WATCHDOG_USEC`, for this process): pinged at half of it
    /// while healthy. None: no pings.
    pub watchdog: Option<Duration>,
    /// The shortest time between two looks at the tree after changes (STATUS, READY); at
    /// most an hour is honoured.
    pub settle: Duration,
}

impl SystemdSettings {
    /// From the environment systemd gives a `Type=notify` service.
    pub fn from_env() -> Self {
        SystemdSettings {
            socket: std::env::var_os("NOTIFY_SOCKET").map(PathBuf::from),
            watchdog: sd_notify::watchdog_enabled(),
            settle: Duration::from_millis(100),
        }
    }
}

/// Notifies systemd of the tree's state until the tree ends or this is dropped.
pub struct SystemdNotifier {
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl SystemdNotifier {
    /// Starts notifying per [`SystemdSettings::from_env`]; does nothing when not run by
    /// systemd.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub fn start(tree: &SupervisorHandle) -> Self {
        Self::start_with(tree, SystemdSettings::from_env())
    }

    /// Starts notifying per `settings`.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub fn start_with(tree: &SupervisorHandle, settings: SystemdSettings) -> Self {
        let stop = CancellationToken::new();
        let task = settings.socket.clone().map(|socket| {
            tokio::spawn(notify_loop(
                tree.clone(),
                Sender { socket },
                settings,
                stop.clone(),
            ))
        });
        SystemdNotifier { stop, task }
    }

    /// Whether it sends anything (systemd is listening).
    pub fn is_active(&self) -> bool {
        self.task.is_some()
    }

    /// Stops notifying; returns once it has.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SystemdNotifier {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

struct Sender {
    socket: PathBuf,
}

impl Sender {
    /// One datagram with these lines. A failure is logged once per kind of message, never
    /// fatal: the tree runs on whatever systemd thinks.
    fn send(&self, states: &[NotifyState<'_>]) {
        let mut message = String::new();
        for state in states {
            message.push_str(&state.to_string());
            message.push('\n');
        }
        if let Err(error) = self.send_text(&message) {
            tracing::warn!(socket = %self.socket.display(), %error, "systemd: cannot notify");
        }
    }

    fn send_text(&self, message: &str) -> io::Result<()> {
        let socket = UnixDatagram::unbound()?;
        let path = self.socket.to_string_lossy();
        match path.strip_prefix('@') {
            #[cfg(target_os = "linux")]
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(message.as_bytes(), &address)?;
            }
            _ => {
                socket.send_to(message.as_bytes(), &self.socket)?;
            }
        }
        Ok(())
    }
}

async fn notify_loop(
    tree: SupervisorHandle,
    sender: Sender,
    settings: SystemdSettings,
    stop: CancellationToken,
) {
    let mut events = tree.subscribe();
    let ended = {
        let tree = tree.clone();
        async move { tree.wait_for_drain().await }
    };
    tokio::pin!(ended);
    let mut ready = false;
    let mut stopping = false;
    let mut status = String::new();
    // The watchdog's pings, at half its timeout (at least 1 ms apart).
    let period = settings
        .watchdog
        .map(|timeout| (timeout / 2).clamp(Duration::from_millis(1), MAX_PING_PERIOD));
    let mut pings = period.map(|period| {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    // Look at the tree at once, then after changes, at most every `settle`.
    let settle = settings.settle.min(MAX_SETTLE);
    let mut look_at = Some(tokio::time::Instant::now());
    // STOPPING=1, once, whichever sign of the shutdown comes first.
    let tell_stopping = |stopping: &mut bool| {
        if !std::mem::replace(stopping, true) {
            sender.send(&[NotifyState::Stopping, NotifyState::Status("shutting down")]);
        }
    };
    loop {
        tokio::select! {
            // Events first: the shutdown's own are told before the end.
            biased;
            _ = stop.cancelled() => return,
            event = events.recv() => {
                match &event {
                    Ok(event)
                        if matches!(event.kind, EventKind::ShutdownRequested { .. })
                            && *event.path == *tree.name() =>
                    {
                        tell_stopping(&mut stopping);
                    }
                    Err(RecvError::Closed) => {
                        sender.send(&[NotifyState::Status("stopped")]);
                        return;
                    }
                    // Any other event, or events missed: the tree changed.
                    _ => {}
                }
                look_at.get_or_insert_with(|| tokio::time::Instant::now() + settle);
            }
            _ = &mut ended => {
                tell_stopping(&mut stopping);
                sender.send(&[NotifyState::Status("stopped")]);
                return;
            }
            _ = async {
                match pings.as_mut() {
                    Some(pings) => pings.tick().await,
                    None => std::future::pending().await,
                }
            } => {
                // Only while healthy: a tree that is up but broken is restarted by systemd.
                if tree.health().await.healthy && !stopping {
                    sender.send(&[NotifyState::Watchdog]);
                }
            }
            _ = tokio::time::sleep_until(look_at.unwrap_or_else(tokio::time::Instant::now)), if look_at.is_some() => {
                look_at = None;
                if tree.is_shutting_down() {
                    tell_stopping(&mut stopping);
                    continue;
                }
                let state = tree.current_state().await;
                let line = summary(&state);
                let readiness = crate::Probe::readiness(&state, tree.is_shutting_down());
                if !ready && readiness.passing {
                    ready = true;
                    status = line.clone();
                    sender.send(&[NotifyState::Ready, NotifyState::Status(&line)]);
                } else if line != status {
                    status = line;
                    sender.send(&[NotifyState::Status(&status)]);
                }
            }
        }
    }
}

/// `5 running, 1 backing off, 0 terminated` (and the other phases when any child is in one).
fn summary(state: &crate::TreeState) -> String {
    let count = |phase: ServicePhase| state.iter().filter(|c| c.phase == phase).count();
    let mut line = format!(
        "{} running, {} backing off, {} terminated",
        count(ServicePhase::Running),
        count(ServicePhase::BackingOff),
        count(ServicePhase::Terminated)
    );
    for (phase, name) in [
        (ServicePhase::Starting, "starting"),
        (ServicePhase::Waiting, "waiting"),
        (ServicePhase::Paused, "paused"),
        (ServicePhase::Quarantined, "quarantined"),
    ] {
        let n = count(phase);
        if n > 0 {
            line.push_str(&format!(", {n} {name}"));
        }
    }
    line
}
