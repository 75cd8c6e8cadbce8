//! A tree's local control socket (feature `ipc`): what the dashboard's relay connects to.
//!
//! [`IpcServer::start`] opens a Unix domain socket (mode 0600; never a network port) that
//! speaks versioned JSON lines, documented in `docs/ipc-protocol.md`: `hello`, `state`,
//! `command` (with who asked, why and an idempotency key) and `events.subscribe` (the journal
//! replayed from a sequence number, then live events). Nothing but the accept loop runs
//! while no client is connected; each client's queue is bounded, and a client that falls
//! behind is dropped with a reason instead of slowing the tree.

mod protocol;
mod server;
mod socket;

pub use protocol::{
    ACTIONS, ChildView, CommandRequest, ErrorView, EventView, MAX_REQUEST_BYTES, Message,
    PROTOCOL_VERSION, ProcessInfo, ReceiptView, Request, RequestBody, TreeView,
};
pub use server::{IpcServer, IpcSettings};
pub use socket::IpcError;
