// `after` and `requires` together, and a breaker that escalates.
#![deny(warnings)]
use supervisor::prelude::*;

#[service(circuit_breaker(max_failures = 3, within = "10s", on_open = "escalate"))]
async fn feed(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service(circuit_breaker(max_failures = 3, within = "10s", on_open = "terminate"))]
async fn risk(ctx: TaskContext) {
    ctx.cancelled().await;
}

#[service]
async fn router(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {
    let tree = supervisor! {
        name = "bot",
        feed(),
        risk() after(feed),
        router() after(risk) requires(feed),
    };
    let spec = tree.into_spec().unwrap();
    let router = &spec.children()[2];
    assert_eq!(router.dependencies().collect::<Vec<_>>(), ["risk", "feed"]);
    assert_eq!(router.requirements().collect::<Vec<_>>(), ["feed"]);
    let breaker = spec.children()[0].backoff().circuit_breaker().unwrap();
    assert_eq!(breaker.on_open, supervisor::OnOpen::Escalate);
}
