//! A tree's local control socket (feature `ipc`): what the dashboard's relay connects to.
//!
//! [`IpcServer::start`] opens a Unix domain socket (mode 0600; never a network port) that
//! speaks versioned JSON lines, documented in `docs/ipc-protocol.md`: `hello`, `state`,
//! `command` (with who asked, why and an idempotency key), `events.subscribe` (the journal
//! replayed from a sequence number, then live events) and `logs.tail` (from a [`LogBuffer`]
//! that a `tracing` layer fills). Nothing but the accept loop runs
//! while no client is connected; each client's queue is bounded, and a client that falls
//! behind is dropped with a reason instead of slowing the tree.

mod logs;
mod protocol;
mod server;
mod socket;

pub use logs::{LogBuffer, LogLayer, MAX_LOG_LINES};
pub use protocol::{
    ACTIONS, BackoffView, BreakerView, ChildView, CommandRequest, ErrorView, EventView,
    IntensityView, LogLineView, MAX_REQUEST_BYTES, Message, PROTOCOL_VERSION, ProcessInfo,
    ReceiptView, ReportView, Request, RequestBody, StoppedView, TreeView,
};
pub use server::{IpcServer, IpcSettings};
pub use socket::IpcError;
