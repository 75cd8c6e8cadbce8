//! Procedural macros of `supervisor`: users reach them through `supervisor` itself.
