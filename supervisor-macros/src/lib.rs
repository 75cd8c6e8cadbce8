//! Procedural macros of `supervisor`. Do not depend on this crate directly: use the macros
//! through `supervisor`, which re-exports them.
//!
//! The macros (`#[service]` and `supervisor!`) are not written yet; this crate reserves the
//! name and the exact-version pin between the two crates.
