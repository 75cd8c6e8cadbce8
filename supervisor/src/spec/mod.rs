//! Declarations of supervision trees: what each child runs and under which policies. Built by
//! hand or by the `supervisor!` macro; the runtime starts them.

mod argument;
mod child_spec;
mod declared_tree;
mod drain;
mod pool;
mod service_output;
mod supervisor_spec;

pub use argument::{Argument, SupervisedArgument};
pub(crate) use child_spec::{BlockingFactory, ChildPolicy, Run};
pub use child_spec::{ChildSpec, SharedPolicy, blocking_fn, service_fn};
pub use declared_tree::DeclaredTree;
pub(crate) use pool::PoolTemplate;
pub(crate) use service_output::Classified;
pub use service_output::ServiceOutput;
#[cfg(feature = "config")]
pub(crate) use supervisor_spec::DEFAULT_ABORT_WAIT;
pub(crate) use supervisor_spec::check_added_child;
pub use supervisor_spec::{SupervisorSpec, SupervisorSpecBuilder};
