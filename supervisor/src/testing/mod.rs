//! Testing your supervision tree (feature `testing`): a [`TestKit`] starts a tree on Tokio's
//! paused clock, injects faults into a running child by path (fail, panic, hang, exit, a slow
//! stop) around its attempt rather than inside its code, and waits for events with
//! [`TestKit::expect`] or [`expect_events!`](crate::expect_events), which on a mismatch show
//! the events that did come. Faults reach async children (`#[service]` functions,
//! `service_fn`, `TradingService`s), in nested supervisors too and those added at run time.
//! Blocking workers (a thread cannot be stopped from outside) and supervisors themselves
//! refuse them: the kit panics, naming the path.

mod faults;
mod kit;

pub use faults::Fault;
pub(crate) use faults::{FaultBoard, FaultyMake};
pub use kit::{DEFAULT_PATIENCE, EventPattern, Expected, TestKit};
