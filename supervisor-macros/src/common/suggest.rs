//! "Did you mean": every unknown-name message gives the closest valid name (when one is close)
//! and the whole list of valid names.

/// `unknown {what} `{given}`; did you mean `x`? valid {list}: a, b, c` (the question only
/// when a name is close).
pub(crate) fn unknown(what: &str, given: &str, list: &str, valid: &[&str]) -> String {
    let mut message = format!("unknown {what} `{given}`;");
    if let Some(close) = closest(given, valid.iter().copied()) {
        message.push_str(&format!(" did you mean `{close}`?"));
    }
    message.push_str(&format!(" valid {list}: {}", valid.join(", ")));
    message
}

/// The candidate closest to `name`, if close enough to be a typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|&(distance, _)| distance <= limit)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_the_suggestion_and_the_list() {
        assert_eq!(
            unknown(
                "option",
                "retsart",
                "options",
                &["name", "restart", "backoff"]
            ),
            "unknown option `retsart`; did you mean `restart`? valid options: name, restart, backoff"
        );
        assert_eq!(
            unknown("restart policy", "zzz", "values", &["always", "never"]),
            "unknown restart policy `zzz`; valid values: always, never"
        );
    }
}
