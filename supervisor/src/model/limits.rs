//! The bounds every front door checks, so that no value a user can write reaches the control
//! loop as a panic (timer ranges, allocation sizes, path syntax, stack depth).

use std::time::Duration;

use crate::error::ConfigError;

/// The longest duration accepted anywhere (timeouts, delays, windows): 365 days. Longer ones
/// are rejected with an error naming the field; for "never", use the option that says so
/// ([`ShutdownPolicy::Infinity`](crate::ShutdownPolicy::Infinity), no breaker, no intensity
/// limit).
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// How deeply supervisors may nest: the root is level 1. Deeper specs are rejected by
/// [`SupervisorSpecBuilder::build`](crate::SupervisorSpecBuilder::build) with
/// [`SpecError::TooDeep`](crate::error::SpecError::TooDeep), so that no operation on a spec or
/// its state recurses deeper than this.
pub const MAX_NESTING_DEPTH: usize = 1_000;

/// The most events a subscriber may fall behind by
/// ([`SupervisorConfig::with_event_capacity`](crate::SupervisorConfig::with_event_capacity)):
/// the buffer is allocated up front.
pub const MAX_EVENT_CAPACITY: usize = 1 << 16;

/// The most failures a circuit breaker and the most restarts a restart intensity may count:
/// each remembers that many timestamps.
pub const MAX_FAILURE_COUNT: u32 = 10_000;

/// The most children a supervisor may hold that were added at run time, at once
/// ([`SupervisorSpecBuilder::max_dynamic_children`](crate::SupervisorSpecBuilder::max_dynamic_children),
/// [`ChildSpec::pool`](crate::ChildSpec::pool)); also the limit of the root of
/// [`Supervisor::new`](crate::Supervisor::new).
pub const MAX_DYNAMIC_CHILDREN: usize = 1_000_000;

/// The character that joins names into paths; no name may contain it.
pub(crate) const PATH_SEPARATOR: char = '/';

/// A duration that must be greater than zero and at most [`MAX_DURATION`].
pub(crate) fn check_positive_duration(
    field: &'static str,
    value: Duration,
) -> Result<(), ConfigError> {
    if value.is_zero() {
        return Err(ConfigError::new(
            field,
            format!("{value:?}"),
            "a duration greater than zero",
        ));
    }
    check_duration(field, value)
}

/// A duration of at most [`MAX_DURATION`].
pub(crate) fn check_duration(field: &'static str, value: Duration) -> Result<(), ConfigError> {
    if value > MAX_DURATION {
        return Err(ConfigError::new(
            field,
            format!("{value:?}"),
            "a duration of at most 365 days (supervisor::MAX_DURATION)",
        ));
    }
    Ok(())
}

/// A limit of children added at run time: at most [`MAX_DYNAMIC_CHILDREN`].
pub(crate) fn check_dynamic_limit(value: usize) -> Result<(), ConfigError> {
    if value > MAX_DYNAMIC_CHILDREN {
        return Err(ConfigError::new(
            "max_dynamic_children",
            value.to_string(),
            "at most 1,000,000 (supervisor::MAX_DYNAMIC_CHILDREN)",
        ));
    }
    Ok(())
}

/// A count of failures or restarts: between 1 and [`MAX_FAILURE_COUNT`].
pub(crate) fn check_count(field: &'static str, value: u32, none: &str) -> Result<(), ConfigError> {
    if value == 0 || value > MAX_FAILURE_COUNT {
        return Err(ConfigError::new(
            field,
            value.to_string(),
            format!("between 1 and {MAX_FAILURE_COUNT} (supervisor::MAX_FAILURE_COUNT), or {none}"),
        ));
    }
    Ok(())
}

/// A child's or supervisor's name: non-empty, without the path separator.
pub(crate) fn check_name(name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::new("name", "\"\"", "a non-empty name"));
    }
    if name.contains(PATH_SEPARATOR) {
        return Err(ConfigError::new(
            "name",
            format!("{name:?}"),
            "a name without `/` (it joins names into paths)",
        ));
    }
    Ok(())
}

/// An event capacity between 1 and [`MAX_EVENT_CAPACITY`].
pub(crate) fn check_event_capacity(capacity: usize) -> Result<(), ConfigError> {
    if capacity == 0 || capacity > MAX_EVENT_CAPACITY {
        return Err(ConfigError::new(
            "event_capacity",
            capacity.to_string(),
            format!("between 1 and {MAX_EVENT_CAPACITY} (supervisor::MAX_EVENT_CAPACITY)"),
        ));
    }
    Ok(())
}

/// A journal of at most [`MAX_EVENT_CAPACITY`] events (0 keeps none).
pub(crate) fn check_journal_capacity(capacity: usize) -> Result<(), ConfigError> {
    if capacity > MAX_EVENT_CAPACITY {
        return Err(ConfigError::new(
            "journal_capacity",
            capacity.to_string(),
            format!("at most {MAX_EVENT_CAPACITY} (supervisor::MAX_EVENT_CAPACITY)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive() {
        assert!(check_duration("d", MAX_DURATION).is_ok());
        assert!(check_duration("d", MAX_DURATION + Duration::from_nanos(1)).is_err());
        assert!(check_positive_duration("d", Duration::ZERO).is_err());
        assert!(check_event_capacity(MAX_EVENT_CAPACITY).is_ok());
        assert!(check_event_capacity(MAX_EVENT_CAPACITY + 1).is_err());
        assert!(check_event_capacity(0).is_err());
        assert_eq!(check_name("a/b").unwrap_err().field(), "name");
        assert!(check_name("").is_err());
        assert!(check_name("market-feed").is_ok());
        assert!(check_count("c", MAX_FAILURE_COUNT, "none").is_ok());
        assert!(check_count("c", MAX_FAILURE_COUNT + 1, "none").is_err());
        assert!(check_count("c", 0, "none").is_err());
    }
}
