//! `POST /insert/jsonline`: one JSON object per line. Bad lines are skipped and counted; the
//! caller answers 400 only when every line failed.

use super::normalize::Normalizer;
use super::{IngestParams, Parsed};

/// Parses an NDJSON body received at `now`.
pub fn parse(body: &[u8], params: &IngestParams, now: i64) -> Parsed {
    let mut normalizer = Normalizer::new(params, now);
    let mut parsed = Parsed::default();
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        parsed.entries += 1;
        match normalizer.json_line(line) {
            Ok(row) => parsed.rows.push(row),
            Err(e) => parsed.fail(e.to_string()),
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_skipped_and_counted() {
        let body = b"{\"_msg\":\"a\"}\n\nnot json\r\n{\"_msg\":\"b\"}\r\n  \n[1]";
        let parsed = parse(body, &IngestParams::default(), 1);
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.entries, 4);
        assert_eq!(parsed.errors, 2);
        assert!(!parsed.all_failed());
        assert!(parsed.first_error.is_some());
    }

    #[test]
    fn all_bad_and_empty_bodies() {
        assert!(parse(b"x\ny", &IngestParams::default(), 1).all_failed());
        let empty = parse(b"", &IngestParams::default(), 1);
        assert!(!empty.all_failed());
        assert_eq!(empty.entries, 0);
    }
}
