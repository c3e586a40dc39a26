//! "Did you mean …?": the known name nearest a misspelt one.

/// The candidate nearest `name` by edit distance (ignoring case), when at most `max_distance`
/// edits away; the first of equally near ones.
pub(crate) fn nearest<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
    max_distance: usize,
) -> Option<&'c str> {
    let name = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            let distance = strsim::levenshtein(&name, &candidate.to_ascii_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= max_distance)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_candidate_within_reach_is_suggested() {
        let known = ["python3.9", "python3.14", "nodejs22.x"];
        assert_eq!(nearest("python9.99", known, 3), Some("python3.9"));
        assert_eq!(nearest("Python3.14", known, 0), Some("python3.14"));
        assert_eq!(nearest("cobol", known, 3), None);
    }
}
