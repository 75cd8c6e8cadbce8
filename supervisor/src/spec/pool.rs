//! A pool's template: how `start_child(args)` makes each new child (OTP's simple_one_for_one,
//! Elixir's DynamicSupervisor). The arguments cross the handle type-erased and are checked
//! against the template's type when they arrive.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::child_spec::ChildSpec;

type Make = dyn Fn(Box<dyn Any + Send>) -> Result<ChildSpec, Box<dyn Any + Send>> + Send + Sync;

#[derive(Clone)]
pub(crate) struct PoolTemplate {
    make: Arc<Make>,
    /// The argument type's name, for the error when other arguments arrive.
    pub(crate) arguments: &'static str,
}

impl PoolTemplate {
    pub(crate) fn new<A, F>(template: F) -> Self
    where
        A: Send + 'static,
        F: Fn(A) -> ChildSpec + Send + Sync + 'static,
    {
        PoolTemplate {
            make: Arc::new(move |args: Box<dyn Any + Send>| {
                args.downcast::<A>().map(|args| template(*args))
            }),
            arguments: std::any::type_name::<A>(),
        }
    }

    /// The child for `args`, or the arguments back if they are not of the template's type.
    pub(crate) fn make(&self, args: Box<dyn Any + Send>) -> Result<ChildSpec, Box<dyn Any + Send>> {
        (self.make)(args)
    }
}

impl PartialEq for PoolTemplate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.make, &other.make)
    }
}

impl fmt::Debug for PoolTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PoolTemplate({})", self.arguments)
    }
}
