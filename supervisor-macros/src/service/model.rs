//! What a service declares, as plain data: no tokens, durations in nanoseconds. Unit-tested
//! without a compiler.

use crate::policy::PolicyModel;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceModel {
    pub(crate) name: String,
    pub(crate) policy: PolicyModel,
    pub(crate) blocking: bool,
    /// The runtime crate's path, `::supervisor` unless `crate = ".."`.
    pub(crate) krate: String,
}
