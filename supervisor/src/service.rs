//! The trait a hand-written service implements.

use std::future::Future;
use std::pin::Pin;

use crate::context::TaskContext;
use crate::error::ServiceError;
use crate::model::RestartPolicy;

/// The future a [`TradingService`] returns from [`run`](TradingService::run).
pub type ServiceFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ServiceError>> + Send + 'a>>;

/// A long-running task the supervisor starts, watches and restarts.
///
/// The trait is dyn-compatible, so services of different types live side by side as
/// `Box<dyn TradingService>`. [`run`](TradingService::run) is called once per attempt with a
/// fresh [`TaskContext`]; return when [`TaskContext::cancelled`] fires to stop cleanly.
///
/// # Writing one by hand
///
/// Wrap the body in `Box::pin(async move { .. })`:
///
/// ```
/// use std::time::Duration;
/// use supervisor::{RestartPolicy, ServiceError, ServiceFuture, TaskContext, TradingService};
///
/// struct CandlePoller {
///     symbol: String,
/// }
///
/// impl TradingService for CandlePoller {
///     fn name(&self) -> &str {
///         "candle-poller"
///     }
///
///     fn restart_policy(&self) -> RestartPolicy {
///         RestartPolicy::Always
///     }
///
///     fn run(&self, ctx: TaskContext) -> ServiceFuture<'_> {
///         Box::pin(async move {
///             let mut tick = tokio::time::interval(Duration::from_secs(60));
///             loop {
///                 tokio::select! {
///                     _ = ctx.cancelled() => return Ok(()),
///                     _ = tick.tick() => {
///                         ctx.heartbeat();
///                         if self.symbol.is_empty() {
///                             return Err(ServiceError::fatal("no symbol configured"));
///                         }
///                     }
///                 }
///             }
///         })
///     }
/// }
///
/// let service: Box<dyn TradingService> = Box::new(CandlePoller { symbol: "BTCUSDT".into() });
/// assert_eq!(service.name(), "candle-poller");
/// ```
pub trait TradingService: Send + Sync + 'static {
    /// The service's name: unique within its supervisor, shown in snapshots, events and logs.
    fn name(&self) -> &str;

    /// When the service is restarted after it exits. Defaults to [`RestartPolicy::OnFailure`].
    fn restart_policy(&self) -> RestartPolicy {
        RestartPolicy::OnFailure
    }

    /// One attempt of the service. Returning `Ok(())` is a clean exit, an error is a failure
    /// (never restarted if [fatal](ServiceError::fatal)), and a panic is a failure too.
    fn run(&self, ctx: TaskContext) -> ServiceFuture<'_>;
}
