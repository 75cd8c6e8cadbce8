//! Durations as text (`"250ms"`, `"1.5s"`, `"5m"`, `"2h"`): the rules of the macros'
//! duration literals, for what is read at run time (configuration files). A test checks that
//! both accept and reject the same texts with the same messages.

use std::time::Duration;

use super::MAX_DURATION;

const UNITS: &[(&str, u128)] = &[
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// What every duration error ends with.
pub(crate) const EXPECTED: &str =
    "expected a number and a unit: ms, s, m or h (e.g. \"250ms\", \"1.5s\", \"5m\")";

/// The regular expression of the accepted shape (for the JSON Schema); the bounds (greater
/// than zero, at most 365 days, whole nanoseconds) are checked by [`parse_duration`] only.
pub(crate) const PATTERN: &str = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$";

/// A duration from its text, or what is wrong with it: greater than zero, at most
/// [`MAX_DURATION`], in whole nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let malformed = || format!("invalid duration \"{text}\": {EXPECTED}");
    if text.trim_start().starts_with('-') {
        return Err(format!(
            "invalid duration \"{text}\": durations cannot be negative; {EXPECTED}"
        ));
    }
    if let Some(digits) = text.split_once(['e', 'E']).map(|(before, _)| before)
        && !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        return Err(format!(
            "invalid duration \"{text}\": exponents are not supported; write the number out (\"1000ms\" or \"1s\")"
        ));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(malformed)?;
    let (number, unit) = text.split_at(split);
    let &(_, unit_nanos) = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .ok_or_else(|| format!("invalid duration \"{text}\": unknown unit `{unit}`; {EXPECTED}"))?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || (number.contains('.') && fraction.is_empty()) || fraction.contains('.') {
        return Err(malformed());
    }
    let whole: u128 = whole.parse().map_err(|_| malformed())?;
    let mut nanos = whole
        .checked_mul(unit_nanos)
        .ok_or_else(|| too_long(text))?;
    // Trailing zeros change nothing ("1.50s" is "1.5s") but would make the sum overflow.
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        let finer = || format!("invalid duration \"{text}\": finer than a nanosecond; {EXPECTED}");
        let digits: u128 = fraction.parse().map_err(|_| finer())?;
        let scale = u32::try_from(fraction.len())
            .ok()
            .and_then(|len| 10u128.checked_pow(len))
            .ok_or_else(finer)?;
        // Checked: so many digits are finer than a nanosecond anyway.
        let part = digits.checked_mul(unit_nanos).ok_or_else(finer)?;
        if !part.is_multiple_of(scale) {
            return Err(finer());
        }
        nanos = nanos
            .checked_add(part / scale)
            .ok_or_else(|| too_long(text))?;
    }
    if nanos == 0 {
        return Err(format!(
            "invalid duration \"{text}\": must be greater than zero"
        ));
    }
    u64::try_from(nanos)
        .ok()
        .map(Duration::from_nanos)
        .filter(|&d| d <= MAX_DURATION)
        .ok_or_else(|| too_long(text))
}

fn too_long(text: &str) -> String {
    format!("invalid duration \"{text}\": at most 365 days (\"8760h\") are supported")
}

/// The shortest text [`parse_duration`] reads back as `duration`: whole hours, minutes,
/// seconds or milliseconds where they fit, else milliseconds with a fraction.
pub(crate) fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    for &(unit, unit_nanos) in UNITS.iter().rev() {
        if nanos.is_multiple_of(unit_nanos) {
            return format!("{}{unit}", nanos / unit_nanos);
        }
    }
    let fraction = format!("{:06}", nanos % 1_000_000);
    format!("{}.{}ms", nanos / 1_000_000, fraction.trim_end_matches('0'))
}

/// The macros' own parser, compiled into the tests so that the two can be compared.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../../supervisor-macros/src/common/duration.rs"]
mod macros;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    use super::macros;

    fn texts() -> impl Strategy<Value = String> {
        let number = prop_oneof![
            "[0-9]{1,22}",
            "[0-9]{1,6}\\.[0-9]{0,40}",
            "\\.[0-9]{1,3}",
            "-?[0-9]{1,4}(e|E)[0-9]",
        ];
        let unit = prop_oneof![
            Just(""),
            Just("ms"),
            Just("s"),
            Just("m"),
            Just("h"),
            Just("us"),
            Just("d"),
            Just("S"),
            Just(" s"),
        ];
        prop_oneof![
            (number, unit).prop_map(|(n, u)| format!("{n}{u}")),
            "\\PC{0,12}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn agrees_with_the_macros(text in texts()) {
            let ours = parse_duration(&text).map(|d| d.as_nanos());
            let theirs = macros::parse(&text).map(u128::from);
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn formats_what_it_reads_back(nanos in 1u64..=MAX_DURATION.as_nanos() as u64) {
            let duration = Duration::from_nanos(nanos);
            prop_assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }
    }

    #[test]
    fn formats_in_the_largest_whole_unit() {
        let cases = [
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_nanos(1), "0.000001ms"),
        ];
        for (duration, text) in cases {
            assert_eq!(format_duration(duration), text);
        }
    }

    #[test]
    fn long_fractions_are_exact_or_finer_than_a_nanosecond() {
        assert_eq!(
            parse_duration("1.50000000000000000000000000000000000000000h"),
            Ok(Duration::from_secs(5400))
        );
        let finer = parse_duration("1.99999999999999999999999999999h").unwrap_err();
        assert!(finer.contains("finer than a nanosecond"), "{finer}");
    }

    #[test]
    fn the_bound_is_the_macros_bound() {
        assert_eq!(MAX_DURATION.as_nanos(), u128::from(macros::MAX_NANOS));
    }
}
