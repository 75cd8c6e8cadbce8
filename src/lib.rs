//! Examples, integration tests and benchmarks of the `supervisor` workspace.
