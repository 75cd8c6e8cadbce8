//! The dashboard's relay: it watches supervised processes through their local control
//! sockets (`supervisor::ipc`), keeps each one's latest state and recent events, and
//! reconnects when a process restarts. The browser UI and its WebSocket API are served from
//! what it keeps.

#![cfg(unix)]
#![deny(missing_docs)]

mod target;

pub use target::{Target, TargetSettings, TargetStatus};
