//! The dashboard: a relay that watches supervised processes through their local control
//! sockets (`supervisor::ipc`) and serves a browser UI and a WebSocket API from what it keeps.
//!
//! ```no_run
//! use supervisor_dashboard::{Dashboard, DashboardFile, TargetSettings};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let file = DashboardFile::from_yaml("targets: [/run/bot/control.sock]")?;
//! let settings = file.check(|name| std::env::var(name).ok())?;
//! let dashboard = Dashboard::start(settings, TargetSettings::default()).await?;
//! println!("dashboard at {}", dashboard.url());
//! # Ok(())
//! # }
//! ```

#![cfg(unix)]
#![deny(missing_docs)]

mod auth;
mod config;
mod relay;
mod serve;
mod target;
mod view;
mod web;

pub use auth::{MIN_TOKEN_LEN, Token};
pub use config::{
    AuthSource, ConfigError, DEFAULT_LISTEN, DashboardFile, DashboardSettings, MAX_TARGETS,
    TlsFiles,
};
pub use relay::Relay;
pub use serve::Dashboard;
/// A lock that a panic elsewhere does not poison for good: what it guards is always left
/// whole (plain values replaced at once).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub use target::{CommandAnswer, CommandFailure, Target, TargetSettings, TargetStatus};
