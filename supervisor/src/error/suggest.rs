//! "Did you mean": the closest known name to a misspelt one.

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo
/// (at most a third of the name's length, and at least one edit allowed).
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

/// Levenshtein distance over chars.
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
    fn suggests_close_names_only() {
        let names = ["market_feed", "risk_engine", "order_router"];
        assert_eq!(closest("market_fed", names), Some("market_feed"));
        assert_eq!(closest("risk_egnine", names), Some("risk_engine"));
        assert_eq!(closest("fills", names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
