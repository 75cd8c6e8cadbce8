//! The file's shape, as types: what is read, what the JSON Schema is generated from, and what
//! the loader checks a document against. Every field is optional: what the file leaves out
//! keeps the value from the code (or the built-in default).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::values::{ChildShutdown, Spelled, Text};
use crate::model::{Jitter, OnOpen, RestartPolicy, Strategy};

/// A supervision tree's policy, as an operator writes it at deploy time. It overrides what the
/// code declares; `children` overrides it per child.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Supervision tree configuration")]
pub struct ConfigFile {
    /// The root supervisor: how it restarts its children and how often it may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<SupervisorSection>,
    /// Every child's restart, backoff, breaker, heartbeat and shutdown policy, unless an entry
    /// under `children` says otherwise. A nested supervisor takes its restart, backoff and
    /// breaker from here, not its heartbeat or shutdown (it never heartbeats and bounds its
    /// own shutdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicySection>,
    /// How the tree shuts down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<ShutdownSection>,
    /// The journal and the metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilitySection>,
    /// The local control socket (`supervisor::ipc`, feature `ipc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc: Option<IpcSection>,
    /// Per-child overrides, keyed by the child's path from the root
    /// (`bot/execution/order_router`). Every path must name a child of the tree.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub children: BTreeMap<String, ChildSection>,
}

/// Where the local control socket is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpcSection {
    /// The Unix domain socket's path, e.g. `/run/bot/supervisor.sock`; created with mode
    /// 0600, removed when the tree ends.
    #[schemars(length(min = 1))]
    pub path: String,
}

/// A supervisor's strategy and restart intensity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SupervisorSection {
    /// Which children restart when one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Spelled<Strategy>>,
    /// How many restarts within how long the supervisor tolerates before it gives up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intensity: Option<IntensitySection>,
}

/// A restart intensity: at most `max_restarts` restarts within `within`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntensitySection {
    /// Restarts tolerated within the window (1 to 10,000).
    #[schemars(range(min = 1, max = 10_000))]
    pub max_restarts: u32,
    /// The sliding window, e.g. `"60s"`.
    pub within: Text<std::time::Duration>,
}

/// Declares a group of a child's policies: the five fields every such group has (so that
/// `policy` and a `children` entry cannot drift apart), then its own.
macro_rules! policy_group {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $($(#[$field_attr:meta])* pub $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// When it is restarted: `always`, `on_failure` or `never` (or OTP's `permanent`,
            /// `transient`, `temporary`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub restart: Option<Spelled<RestartPolicy>>,
            /// The delay before each restart.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub backoff: Option<BackoffSection>,
            /// When it stops being restarted: after `max_failures` failures within `within`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub circuit_breaker: Option<BreakerSection>,
            /// How long it may run without a heartbeat before it is treated as hung and
            /// restarted.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub heartbeat: Option<HeartbeatSection>,
            /// How it is stopped: `brutal_kill`, `infinity`, or `{ timeout: "5s" }`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub shutdown: Option<ChildShutdown>,
            $(
                $(#[$field_attr])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: $ty,
            )*
        }

        impl<'a> From<&'a $name> for PolicyFields<'a> {
            fn from(group: &'a $name) -> Self {
                PolicyFields {
                    restart: group.restart.as_ref(),
                    backoff: group.backoff.as_ref(),
                    circuit_breaker: group.circuit_breaker.as_ref(),
                    heartbeat: group.heartbeat.as_ref(),
                    shutdown: group.shutdown.as_ref(),
                }
            }
        }
    };
}

/// The policy fields of a `policy` group or a `children` entry, by reference.
pub(crate) struct PolicyFields<'a> {
    pub(crate) restart: Option<&'a Spelled<RestartPolicy>>,
    pub(crate) backoff: Option<&'a BackoffSection>,
    pub(crate) circuit_breaker: Option<&'a BreakerSection>,
    pub(crate) heartbeat: Option<&'a HeartbeatSection>,
    pub(crate) shutdown: Option<&'a ChildShutdown>,
}

policy_group! {
    /// A child's policies. Under `policy` they apply to every child; under `children` to one.
    pub struct PolicySection {}
}

policy_group! {
    /// One child's overrides: its policies, and for a nested supervisor its strategy and
    /// intensity.
    pub struct ChildSection {
        /// Only for a nested supervisor: its strategy and intensity.
        pub supervisor: Option<SupervisorSection>,
    }
}

/// Exponential backoff: `base`, doubled per consecutive failure, up to `max`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackoffSection {
    /// The first delay, e.g. `"100ms"`; at most `max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Text<std::time::Duration>>,
    /// The largest delay, e.g. `"30s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Text<std::time::Duration>>,
    /// How delays are randomised: `none`, `full` or `equal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Spelled<Jitter>>,
    /// How long it must run without failing before the backoff starts again from `base`
    /// (the cooldown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_after: Option<Text<std::time::Duration>>,
}

/// A circuit breaker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerSection {
    /// `false` restarts for ever, however often it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Failures within `within` that open it (1 to 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000))]
    pub max_failures: Option<u32>,
    /// The sliding window, e.g. `"10m"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Text<std::time::Duration>>,
    /// What opening does: `terminate` the child, or also `escalate` to its supervisor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_open: Option<Spelled<OnOpen>>,
}

/// The heartbeat limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatSection {
    /// A running child silent for longer than this is treated as hung and restarted, e.g.
    /// `"3s"`.
    pub stale_after: Text<std::time::Duration>,
}

/// How the tree shuts down.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShutdownSection {
    /// How long each child gets to stop after it is cancelled, unless its own `shutdown`
    /// says otherwise, e.g. `"5s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graceful_timeout: Option<Text<std::time::Duration>>,
    /// After a worker that did not stop in time is aborted, how long shutdown waits for its
    /// task to be gone; past it, a task stuck inside a poll is reported detached and shutdown
    /// goes on (e.g. `"5s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_wait: Option<Text<std::time::Duration>>,
}

/// The journal, the live event stream and the metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservabilitySection {
    /// Events the journal keeps for replay (0 turns it off; at most 65,536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 65_536))]
    pub journal_capacity: Option<u32>,
    /// Events a live subscriber may fall behind by (1 to 65,536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65_536))]
    pub event_capacity: Option<u32>,
    /// Whether the metrics list every child with its counters (the Prometheus collector's
    /// per-child series); `false` keeps only the tree's totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_metrics: Option<bool>,
}
