//! Bad input gets a clear error, never a panic or a silent overwrite.

mod common;

use std::time::Duration;

use common::*;
use supervisor::error::SpawnError;
use supervisor::prelude::*;

fn idle(name: &str) -> Box<dyn TradingService> {
    service(name, RestartPolicy::Always, |ctx| async move {
        ctx.cancelled().await;
        Ok(())
    })
}

#[tokio::test(start_paused = true)]
async fn two_services_with_the_same_name_are_rejected() {
    let sup = Supervisor::new(test_config());
    sup.spawn_service(idle("feed")).unwrap();
    let err = sup.spawn_service(idle("feed")).unwrap_err();
    assert_eq!(err, SpawnError::DuplicateName("feed".into()));
    assert_eq!(
        err.to_string(),
        "a service named `feed` is already supervised; service names must be unique"
    );
    run_for(10).await;
    assert_eq!(sup.lifecycle_snapshots().await.len(), 1);
    assert_eq!(sup.metrics().snapshot().spawned_total, 1);
}

#[tokio::test(start_paused = true)]
async fn an_empty_name_is_rejected() {
    let sup = Supervisor::new(test_config());
    assert_eq!(
        sup.spawn_service(idle("")).unwrap_err(),
        SpawnError::EmptyName
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_backoff_is_rejected_with_the_field_named() {
    let sup = Supervisor::new(test_config());
    let cases = [
        (
            BackoffConfig::new(Duration::ZERO, Duration::ZERO),
            "backoff.max",
        ),
        (
            BackoffConfig::new(Duration::from_secs(2), Duration::from_secs(1)),
            "backoff.base",
        ),
        (
            BackoffConfig::default().with_circuit_breaker(5, Duration::ZERO),
            "circuit_breaker.window",
        ),
        (
            BackoffConfig::default().with_circuit_breaker(0, Duration::from_secs(1)),
            "circuit_breaker.max_failures",
        ),
    ];
    for (backoff, field) in cases {
        match sup.spawn_service_with_options(idle("feed"), with_backoff(backoff)) {
            Err(SpawnError::InvalidConfig(err)) => {
                assert_eq!(err.field(), field);
                assert!(err.to_string().contains(field), "{err}");
            }
            other => panic!("expected InvalidConfig for {field}, got {other:?}"),
        }
    }
    assert!(sup.lifecycle_snapshots().await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn invalid_default_backoff_is_rejected_on_spawn() {
    let bad = BackoffConfig::new(Duration::from_secs(9), Duration::from_secs(1));
    let sup = Supervisor::new(test_config().with_default_backoff(bad));
    assert!(matches!(
        sup.spawn_service(idle("feed")),
        Err(SpawnError::InvalidConfig(e)) if e.field() == "backoff.base"
    ));
}

#[tokio::test(start_paused = true)]
async fn no_service_is_accepted_once_shutdown_was_requested() {
    let sup = Supervisor::new(test_config());
    sup.spawn_service(idle("feed")).unwrap();
    sup.trigger_shutdown();
    assert_eq!(
        sup.spawn_service(idle("late")).unwrap_err(),
        SpawnError::ShuttingDown
    );
    let report = sup.wait_for_drain().await;
    assert_eq!(report.services.len(), 1);
}

#[test]
fn spawning_outside_a_runtime_is_an_error_not_a_panic() {
    let sup = Supervisor::new(test_config());
    assert_eq!(
        sup.spawn_service(idle("feed")).unwrap_err(),
        SpawnError::NoRuntime
    );
}

#[test]
fn restart_policies_parse_with_otp_aliases_and_list_valid_spellings() {
    for (text, policy) in [
        ("always", RestartPolicy::Always),
        ("permanent", RestartPolicy::Always),
        ("on_failure", RestartPolicy::OnFailure),
        ("transient", RestartPolicy::OnFailure),
        ("never", RestartPolicy::Never),
        ("temporary", RestartPolicy::Never),
    ] {
        assert_eq!(text.parse::<RestartPolicy>(), Ok(policy));
    }
    let err = "on-failure".parse::<RestartPolicy>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown restart policy `on-failure`; valid values: always, on_failure, never, permanent, transient, temporary"
    );
    assert_eq!("equal".parse::<Jitter>(), Ok(Jitter::Equal));
    assert!(
        "half"
            .parse::<Jitter>()
            .unwrap_err()
            .to_string()
            .contains("none, full, equal")
    );
}

#[test]
fn service_errors_wrap_std_anyhow_and_strings() {
    use supervisor::ErrorKind;

    let io: ServiceError = std::io::Error::other("reset by peer").into();
    assert_eq!(io.kind(), ErrorKind::Transient);
    assert!(io.downcast_ref::<std::io::Error>().is_some());

    let chained: ServiceError = anyhow::anyhow!("socket closed")
        .context("market feed lost")
        .into();
    assert_eq!(chained.to_string(), "market feed lost: socket closed");

    let fatal = ServiceError::fatal(anyhow::anyhow!("bad API key"));
    assert!(fatal.is_fatal());
    assert_eq!(fatal.summary().message, "bad API key");

    fn uses_question_mark() -> Result<(), ServiceError> {
        let _: u16 = "port".parse()?;
        Ok(())
    }
    assert_eq!(
        uses_question_mark().unwrap_err().to_string(),
        "invalid digit found in string"
    );
}

#[test]
fn illegal_phase_transitions_are_errors() {
    use ServicePhase::*;
    let all = [
        Waiting,
        Starting,
        Running,
        BackingOff,
        Stopping,
        Paused,
        Quarantined,
        Terminated,
    ];
    let legal = [
        (Waiting, Starting),
        (Waiting, Paused),
        (Waiting, Quarantined),
        (Waiting, Terminated),
        (Starting, Running),
        (Starting, BackingOff),
        (Starting, Stopping),
        (Starting, Terminated),
        (Running, BackingOff),
        (Running, Stopping),
        (Running, Terminated),
        (BackingOff, Waiting),
        (BackingOff, Starting),
        (BackingOff, Paused),
        (BackingOff, Quarantined),
        (BackingOff, Terminated),
        (Stopping, BackingOff),
        (Stopping, Waiting),
        (Stopping, Paused),
        (Stopping, Quarantined),
        (Stopping, Terminated),
        // Operator commands: resume, release, restart_child.
        (Paused, Waiting),
        (Paused, Quarantined),
        (Paused, Terminated),
        (Quarantined, Waiting),
        (Quarantined, Terminated),
        (Terminated, Waiting),
        (Terminated, Quarantined),
    ];
    for from in all {
        for to in all {
            let result = from.transition(to);
            if legal.contains(&(from, to)) {
                assert_eq!(result, Ok(to));
            } else {
                let err = result.unwrap_err();
                assert_eq!((err.from, err.to), (from, to));
                assert_eq!(
                    err.to_string(),
                    format!("illegal lifecycle transition from {from} to {to}")
                );
            }
        }
    }
}
