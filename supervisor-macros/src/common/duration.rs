//! Duration literals: `"250ms"`, `"1.5s"`, `"5m"`, `"2h"`, checked at compile time.

const UNITS: &[(&str, u128)] = &[
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// What every duration error ends with.
pub(crate) const EXPECTED: &str =
    "expected a number and a unit: ms, s, m or h (e.g. \"250ms\", \"1.5s\", \"5m\")";

/// The runtime's `supervisor::MAX_DURATION` (365 days), in nanoseconds; a test of the runtime
/// crate checks that the two agree.
pub(crate) const MAX_NANOS: u64 = 365 * 24 * 3_600 * 1_000_000_000;

/// Nanoseconds of a duration literal, or what is wrong with it.
pub(crate) fn parse(text: &str) -> Result<u64, String> {
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
        .filter(|&n| n <= MAX_NANOS)
        .ok_or_else(|| too_long(text))
}

fn too_long(text: &str) -> String {
    format!("invalid duration \"{text}\": at most 365 days (\"8760h\") are supported")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_is_wrong_with_signs_exponents_and_length() {
        assert!(parse("-5s").unwrap_err().contains("cannot be negative"));
        assert!(
            parse("1e3ms")
                .unwrap_err()
                .contains("exponents are not supported")
        );
        assert!(parse("8761h").unwrap_err().contains("at most 365 days"));
        assert_eq!(parse("8760h"), Ok(MAX_NANOS));
    }

    #[test]
    fn parses_every_unit_and_decimals() {
        assert_eq!(parse("250ms"), Ok(250_000_000));
        assert_eq!(parse("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse("5m"), Ok(300_000_000_000));
        assert_eq!(parse("2h"), Ok(7_200_000_000_000));
        assert_eq!(parse("0.5ms"), Ok(500_000));
    }

    #[test]
    fn rejects_zero_malformed_and_unknown_units() {
        assert_eq!(
            parse("0s"),
            Err("invalid duration \"0s\": must be greater than zero".into())
        );
        assert!(parse("10 sec").unwrap_err().contains("unknown unit ` sec`"));
        assert!(
            parse("10")
                .unwrap_err()
                .contains("expected a number and a unit")
        );
        assert!(parse("s").unwrap_err().contains("expected a number"));
        assert!(parse("1.s").unwrap_err().contains("expected a number"));
        assert!(parse("1.2.3s").unwrap_err().contains("expected a number"));
        assert!(parse("10us").unwrap_err().contains("unknown unit `us`"));
        assert!(
            parse("0.0000000001s")
                .unwrap_err()
                .contains("finer than a nanosecond")
        );
        assert!(
            parse("99999999999h")
                .unwrap_err()
                .contains("at most 365 days")
        );
    }
}
