//! Examples, integration tests and benchmarks of the `supervisor` workspace. This package is
//! not published; the library is the `supervisor` crate.

/// The runtime, re-exported so a ui test can reach it under another path (`crate = "..."`).
pub use supervisor;

/// Compiles the README's Rust blocks as doc tests, so the quickstart cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
