//! Words as LogsQL defines them, and the word-bounded substring search behind word, phrase
//! and prefix filters. A word is a maximal run of ASCII letters, digits and `_` or of
//! Unicode letters and digits; matching is case-sensitive. The same tokenizer feeds the
//! block token filters, so a filter's words are exactly what the filter looks up.

use memchr::memmem;

/// Whether `c` belongs to a word.
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        c.is_alphabetic() || c.is_numeric()
    }
}

/// The words of `text`, in order, repeats included.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
}

/// How the end of a pattern must sit in the searched text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The match must end on a word boundary (word and phrase filters).
    Bounded,
    /// Anything may follow (prefix filters: `err*`, `"unexpected fail"*`).
    Open,
}

/// Whether `pattern` occurs in `text` with word boundaries: where the pattern starts with a
/// word character the character before the match must not be one, and (with
/// [`End::Bounded`]) likewise after the match. So `error` does not match `errors`, and
/// `"pen /var"` does not match `open /var`, while `Root=1-abc` matches `Root=1-abc;x=1`.
/// An empty pattern matches any text.
pub fn contains_bounded(text: &str, pattern: &str, end: End) -> bool {
    if pattern.is_empty() {
        return true;
    }
    let check_start = pattern.chars().next().is_some_and(is_word_char);
    let check_end = end == End::Bounded && pattern.chars().next_back().is_some_and(is_word_char);
    if !check_start && !check_end {
        return text.contains(pattern);
    }
    let bytes = text.as_bytes();
    for at in memmem::find_iter(bytes, pattern.as_bytes()) {
        // A match of valid UTF-8 starts on a character boundary, so these slices exist.
        if check_start
            && text
                .get(..at)
                .and_then(|before| before.chars().next_back())
                .is_some_and(is_word_char)
        {
            continue;
        }
        if check_end
            && text
                .get(at + pattern.len()..)
                .and_then(|after| after.chars().next())
                .is_some_and(is_word_char)
        {
            continue;
        }
        return true;
    }
    false
}

/// The words a value must contain for `pattern` to match it with [`contains_bounded`]:
/// every word of the pattern, except a last word left open by [`End::Open`] (`"unexpected
/// fail"*` needs `unexpected` only) or touching a non-bounded end.
pub fn required_words(pattern: &str, end: End) -> Vec<&str> {
    let mut found: Vec<&str> = words(pattern).collect();
    if end == End::Open && pattern.chars().next_back().is_some_and(is_word_char) {
        found.pop();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_non_word_characters() {
        let found: Vec<&str> = words("foo: (bar,\"тест\")! a_b 12").collect();
        assert_eq!(found, ["foo", "bar", "тест", "a_b", "12"]);
    }

    #[test]
    fn word_semantics() {
        assert!(contains_bounded("an error happened", "error", End::Bounded));
        assert!(contains_bounded("error: x", "error", End::Bounded));
        assert!(!contains_bounded("multiple errors", "error", End::Bounded));
        assert!(!contains_bounded("ERROR", "error", End::Bounded));
        assert!(!contains_bounded("foo_bar", "foo", End::Bounded));
        assert!(contains_bounded("x errors y error", "error", End::Bounded));
    }

    #[test]
    fn phrase_semantics() {
        assert!(contains_bounded(
            "ERROR: ssh: login fail for user",
            "ssh: login fail",
            End::Bounded
        ));
        assert!(contains_bounded(
            "ssh: login fail!",
            "ssh: login fail",
            End::Bounded
        ));
        assert!(!contains_bounded(
            "ssh: login failed",
            "ssh: login fail",
            End::Bounded
        ));
        assert!(!contains_bounded("open /var", "pen /var", End::Bounded));
        assert!(contains_bounded(
            "Root=1-abc;Sampled=1",
            "Root=1-abc",
            End::Bounded
        ));
        assert!(contains_bounded("a /var/x", "/var", End::Bounded));
    }

    #[test]
    fn prefix_semantics() {
        assert!(contains_bounded(
            "cannot open file: error occurred",
            "err",
            End::Open
        ));
        assert!(!contains_bounded("fooerror", "err", End::Open));
        assert!(contains_bounded(
            "error:unexpected failure",
            "unexpected fail",
            End::Open
        ));
        assert!(!contains_bounded(
            "unexpectedly failed",
            "unexpected fail",
            End::Open
        ));
        assert!(contains_bounded("anything", "", End::Open));
    }

    #[test]
    fn required_words_of_patterns() {
        assert_eq!(
            required_words("ssh: login fail", End::Bounded),
            ["ssh", "login", "fail"]
        );
        assert_eq!(required_words("unexpected fail", End::Open), ["unexpected"]);
        assert_eq!(required_words("err", End::Open), Vec::<&str>::new());
        assert_eq!(required_words("Root=1-", End::Open), ["Root", "1"]);
    }
}
