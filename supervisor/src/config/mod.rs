//! Policy from a YAML file (feature `config`): what an operator tunes at deploy time without
//! recompiling.
//!
//! The file has six groups, all optional: `supervisor` (the root's strategy and intensity),
//! `policy` (every child's restart, backoff, circuit breaker, heartbeat and shutdown),
//! `shutdown` (graceful timeout, abort wait), `observability` (journal and event capacity,
//! per-child metrics), `ipc` (the control socket's path) and `children`, overrides keyed by
//! path (`bot/execution/order_router`; a nested supervisor's entry also takes `supervisor`). `examples/config/` holds the JSON
//! Schema, a commented template of every field and an example.
//!
//! **Precedence**: built-in defaults < values written in code (`#[service]` options,
//! `supervisor!`, builder calls) < the file's `policy` < its `children` entry for the child.
//! The file is the operator's word at deploy time. A nested supervisor takes restart,
//! backoff and breaker from `policy`, not heartbeat or shutdown.
//!
//! **Checks**, all before anything starts, every problem in one [`ConfigFileError`] with its
//! line and column, field path, value and what is allowed: unreadable or oversized files,
//! text that is not UTF-8 or not YAML (duplicate keys, more than one document and alias bombs
//! included), unknown fields (with the closest name), unknown strategy / restart / jitter /
//! shutdown names, wrong types, zero or out-of-range values, durations by the macros' rules,
//! a base above the max, paths that name no child, and a child the runtime would refuse.
//!
//! ```
//! use std::time::Duration;
//! use supervisor::config::{Source, TreeConfig};
//! use supervisor::{SupervisorSpec, service_fn};
//!
//! let spec = SupervisorSpec::builder("bot")
//!     .child(service_fn("feed", |ctx| async move { ctx.cancelled().await }))
//!     .build()?;
//! let file = TreeConfig::from_yaml(
//!     "policy:\n  backoff: { base: 250ms }\nchildren:\n  bot/feed: { restart: never }\n",
//!     "bot.yaml",
//! )?;
//! let configured = file.apply(spec)?;
//! let feed = &configured.spec.children()[0];
//! assert_eq!(feed.backoff().base(), Duration::from_millis(250));
//!
//! let entry = configured.effective.entry("bot/feed", "child").unwrap();
//! let restart = entry.get("restart").unwrap();
//! assert_eq!(restart.value, "never");
//! assert!(matches!(restart.source, Source::File(at) if at.line == 4));
//! assert_eq!(entry.get("backoff.max").unwrap().source, Source::Default);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apply;
mod effective;
mod error;
mod load;
mod model;
mod validate;
mod values;
mod yaml;

pub use apply::Configured;
pub use effective::{EffectiveConfig, Entry, Setting, Source};
pub use error::{ConfigFileError, Problem};
pub use load::TreeConfig;
pub use model::{
    BackoffSection, BreakerSection, ChildSection, ConfigFile, HeartbeatSection, IntensitySection,
    IpcSection, ObservabilitySection, PolicySection, ShutdownSection, SupervisorSection,
};
pub use values::{ChildShutdown, Spelled, Spelling, Text};
pub use yaml::Position;

/// The JSON Schema of the file, as pretty-printed JSON (what
/// `examples/config/supervisor.schema.json` holds).
pub fn json_schema() -> String {
    let mut text = serde_json::to_string_pretty(load::schema()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
