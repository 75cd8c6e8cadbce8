use std::fmt;
use std::sync::Arc;

use crate::context::TaskContext;
use crate::model::{BackoffConfig, Readiness, RestartPolicy};
use crate::service::{ServiceFuture, TradingService};

/// Makes the future of one attempt; called once per attempt.
pub(crate) type Factory = Arc<dyn Fn(TaskContext) -> ServiceFuture<'static> + Send + Sync>;

/// Everything the control loop needs to run one child.
pub(crate) struct ChildSpec {
    pub(crate) name: Arc<str>,
    pub(crate) factory: Factory,
    pub(crate) restart: RestartPolicy,
    pub(crate) backoff: BackoffConfig,
    pub(crate) readiness: Readiness,
}

impl ChildSpec {
    pub(crate) fn from_service(
        service: Arc<dyn TradingService>,
        restart: RestartPolicy,
        backoff: BackoffConfig,
        readiness: Readiness,
    ) -> Self {
        let name: Arc<str> = service.name().into();
        let factory: Factory = Arc::new(move |ctx| {
            let service = Arc::clone(&service);
            Box::pin(async move { service.run(ctx).await })
        });
        ChildSpec {
            name,
            factory,
            restart,
            backoff,
            readiness,
        }
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("name", &self.name)
            .field("restart", &self.restart)
            .field("backoff", &self.backoff)
            .field("readiness", &self.readiness)
            .finish_non_exhaustive()
    }
}
