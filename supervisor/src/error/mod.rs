//! Every error type of the crate. Each names what was wrong and what is allowed.

mod command_error;
mod config_error;
mod escalation;
mod parse_policy_error;
mod service_error;
mod spawn_error;
mod spec_error;
mod suggest;
mod supervisor_error;
mod transition_error;

pub use command_error::CommandError;
pub use config_error::ConfigError;
pub use escalation::{Escalation, EscalationReason};
pub use parse_policy_error::ParsePolicyError;
pub use service_error::{BoxError, ErrorKind, ServiceError};
pub use spawn_error::SpawnError;
pub use spec_error::SpecError;
pub(crate) use suggest::closest;
pub use supervisor_error::SupervisorError;
pub use transition_error::TransitionError;
