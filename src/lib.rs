//! Examples, integration tests and benchmarks of the `supervisor` workspace. This package is
//! not published; the library is the `supervisor` crate.

/// Compiles the README's Rust blocks as doc tests, so the quickstart cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
