//! Properties of the pure policy layer, checked without a runtime.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use supervisor::policy::{BackoffAction, BackoffState, FailureWindow, exponential_delay};
use supervisor::{BackoffConfig, Jitter};

fn config(base_ms: u64, extra_ms: u64, jitter: Jitter) -> BackoffConfig {
    BackoffConfig::new(
        Duration::from_millis(base_ms),
        Duration::from_millis(base_ms + extra_ms),
    )
    .with_jitter(jitter)
    .without_circuit_breaker()
}

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![Just(Jitter::None), Just(Jitter::Full), Just(Jitter::Equal)]
}

proptest! {
    #[test]
    fn delay_is_capped_and_never_overflows(
        base in 0u64..=u64::MAX / 2,
        extra in 0u64..=u64::MAX / 2,
        exponent in any::<u32>(),
    ) {
        let config = BackoffConfig::new(Duration::from_nanos(base), Duration::from_nanos(base + extra));
        let delay = exponential_delay(&config, exponent);
        prop_assert!(delay <= config.max());
        let exact = u128::from(base).checked_mul(1u128.checked_shl(exponent).unwrap_or(0));
        match exact {
            _ if base == 0 => prop_assert_eq!(delay, Duration::ZERO),
            Some(n) if n > 0 && n <= config.max().as_nanos() => prop_assert_eq!(delay.as_nanos(), n),
            _ => prop_assert_eq!(delay, config.max()),
        }
    }

    #[test]
    fn unjittered_delays_grow_monotonically_up_to_max(
        base in 1u64..10_000,
        extra in 0u64..1_000_000,
        failures in 1usize..80,
    ) {
        let mut state = BackoffState::with_seed(config(base, extra, Jitter::None), 0);
        let now = Instant::now();
        let mut previous = Duration::ZERO;
        for n in 0..failures {
            let BackoffAction::Retry(delay) = state.next_backoff(now) else {
                return Err(TestCaseError::fail("no breaker configured, yet it opened"));
            };
            prop_assert!(delay >= previous, "delay {n} shrank: {delay:?} < {previous:?}");
            prop_assert!(delay <= Duration::from_millis(base + extra));
            if n == 0 {
                prop_assert_eq!(delay, Duration::from_millis(base));
            }
            previous = delay;
        }
    }

    #[test]
    fn jittered_delays_stay_within_their_bounds(
        base in 0u64..10_000,
        extra in 0u64..100_000,
        jitter in jitter(),
        seed in any::<u64>(),
        failures in 1u32..40,
    ) {
        let config = config(base, extra, jitter);
        let mut state = BackoffState::with_seed(config, seed);
        let now = Instant::now();
        for exponent in 0..failures {
            let ceiling = exponential_delay(&config, exponent);
            let BackoffAction::Retry(delay) = state.next_backoff(now) else {
                return Err(TestCaseError::fail("breaker opened"));
            };
            prop_assert!(delay <= ceiling);
            match jitter {
                Jitter::None => prop_assert_eq!(delay, ceiling),
                Jitter::Equal => prop_assert!(delay >= ceiling / 2),
                Jitter::Full => {}
            }
        }
    }

    #[test]
    fn same_seed_same_delays(seed in any::<u64>(), jitter in jitter()) {
        let config = config(100, 10_000, jitter);
        let now = Instant::now();
        let mut a = BackoffState::with_seed(config, seed);
        let mut b = BackoffState::with_seed(config, seed);
        for _ in 0..20 {
            prop_assert_eq!(a.next_backoff(now), b.next_backoff(now));
        }
    }

    #[test]
    fn failure_window_matches_a_naive_count(
        limit in 1u32..10,
        window_ms in 1u64..1_000,
        gaps in prop::collection::vec(0u64..500, 1..60),
    ) {
        let origin = Instant::now();
        let window = Duration::from_millis(window_ms);
        let mut ring = FailureWindow::new(limit, window);
        let mut all = Vec::new();
        let mut t = origin;
        for gap in gaps {
            t += Duration::from_millis(gap);
            all.push(t);
            let naive = all.iter().filter(|&&s| t.duration_since(s) < window).count() as u32;
            prop_assert_eq!(ring.record(t), naive.min(limit));
            prop_assert_eq!(ring.is_full(), naive >= limit);
        }
    }

    #[test]
    fn breaker_opens_exactly_at_the_limit_within_the_window(
        limit in 1u32..20,
        seed in any::<u64>(),
    ) {
        let config = config(1, 1_000, Jitter::Full).with_circuit_breaker(limit, Duration::from_secs(60));
        let mut state = BackoffState::with_seed(config, seed);
        let now = Instant::now();
        for _ in 1..limit {
            prop_assert!(matches!(state.next_backoff(now), BackoffAction::Retry(_)));
        }
        prop_assert_eq!(
            state.next_backoff(now),
            BackoffAction::CircuitOpen { failures: limit, max_failures: limit }
        );
    }
}

#[test]
fn cooldown_resets_the_exponent() {
    let config = config(100, 10_000, Jitter::None).with_cooldown(Duration::from_secs(5));
    let mut state = BackoffState::with_seed(config, 0);
    let t0 = Instant::now();
    state.record_start(t0);
    assert_eq!(
        state.next_backoff(t0),
        BackoffAction::Retry(Duration::from_millis(100))
    );
    state.record_start(t0);
    assert_eq!(
        state.next_backoff(t0),
        BackoffAction::Retry(Duration::from_millis(200))
    );
    // Ran 4.999 s: not enough.
    state.record_start(t0);
    let almost = t0 + Duration::from_millis(4_999);
    assert_eq!(
        state.next_backoff(almost),
        BackoffAction::Retry(Duration::from_millis(400))
    );
    // Ran 5 s: reset.
    state.record_start(almost);
    let later = almost + Duration::from_secs(5);
    assert_eq!(
        state.next_backoff(later),
        BackoffAction::Retry(Duration::from_millis(100))
    );
    assert_eq!(state.consecutive_failures(), 1);
}
