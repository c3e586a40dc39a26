//! JSON templates: `serde_json` reads the values (a repeated key keeps its last value, as
//! CloudFormation's parser does); a scan of the text, already known to be valid JSON, records
//! where each key and list item is and warns about repeated keys.

use std::collections::HashSet;

use serde_json::Value;

use super::positions::Recorder;
use super::{Parsed, syntax_error};
use crate::TemplateError;

pub(super) fn parse(file: &str, text: &str) -> Result<Parsed, TemplateError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        syntax_error(file, text, e.line(), e.column(), message)
    })?;
    let (positions, warnings) = scan(file, text).finish();
    Ok(Parsed {
        value,
        positions,
        warnings,
    })
}

/// An object or array the scan is inside.
#[derive(Debug)]
enum Open {
    Object {
        keys: HashSet<String>,
        /// A key was entered and not yet left.
        in_value: bool,
        /// The next string is a key.
        expects_key: bool,
    },
    Array {
        index: usize,
        in_item: bool,
    },
}

fn scan(file: &str, text: &str) -> Recorder {
    let mut recorder = Recorder::new(file);
    let mut open: Vec<Open> = Vec::new();
    let (mut line, mut column) = (1, 1);
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        let (at_line, at_column) = (line, column);
        column += 1;
        if !matches!(ch, ',' | ':' | '}' | ']') && !ch.is_whitespace() {
            start_item(&mut open, &mut recorder, at_line, at_column);
        }
        match ch {
            '\n' => (line, column) = (line + 1, 1),
            '"' => {
                let literal = string_literal(&mut chars);
                column += literal.chars().count() - 1;
                if let Some(Open::Object {
                    keys,
                    in_value,
                    expects_key: expects_key @ true,
                }) = open.last_mut()
                {
                    let key: String = serde_json::from_str(&literal).unwrap_or_default();
                    let repeated = !keys.insert(key.clone());
                    recorder.enter_key(&key, at_line, at_column, repeated);
                    (*in_value, *expects_key) = (true, false);
                }
            }
            '{' => open.push(Open::Object {
                keys: HashSet::new(),
                in_value: false,
                expects_key: true,
            }),
            '[' => open.push(Open::Array {
                index: 0,
                in_item: false,
            }),
            ',' => match open.last_mut() {
                Some(Open::Object {
                    in_value,
                    expects_key,
                    ..
                }) => {
                    leave(&mut recorder, in_value);
                    *expects_key = true;
                }
                Some(Open::Array { index, in_item }) => {
                    leave(&mut recorder, in_item);
                    *index += 1;
                }
                None => {}
            },
            '}' | ']' => {
                if let Some(
                    Open::Object { in_value: flag, .. } | Open::Array { in_item: flag, .. },
                ) = open.last_mut()
                {
                    leave(&mut recorder, flag);
                }
                open.pop();
            }
            _ => {}
        }
    }
    recorder
}

/// Records the position of a value that starts an array item.
fn start_item(open: &mut [Open], recorder: &mut Recorder, line: usize, column: usize) {
    if let Some(Open::Array {
        index,
        in_item: in_item @ false,
    }) = open.last_mut()
    {
        recorder.enter_item(*index, line, column);
        *in_item = true;
    }
}

fn leave(recorder: &mut Recorder, entered: &mut bool) {
    if std::mem::take(entered) {
        recorder.leave();
    }
}

/// The rest of a string literal whose opening quote was just read, quotes included.
fn string_literal(chars: &mut std::str::Chars<'_>) -> String {
    let mut literal = String::from('"');
    let mut escaped = false;
    for ch in chars.by_ref() {
        literal.push(ch);
        match (escaped, ch) {
            (false, '\\') => escaped = true,
            (false, '"') => break,
            _ => escaped = false,
        }
    }
    literal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_items_have_positions() {
        let text =
            "{\n  \"Resources\": {\n    \"A\": {\"DependsOn\": [\"B\", \n      \"C\"]}\n  }\n}";
        let parsed = parse("t.json", text).expect("parses");
        let at = |path: &[&str]| parsed.positions.get(path).map(|l| (l.line, l.column));
        assert_eq!(at(&["Resources"]), Some((2, 3)));
        assert_eq!(at(&["Resources", "A", "DependsOn"]), Some((3, 11)));
        assert_eq!(at(&["Resources", "A", "DependsOn", "0"]), Some((3, 25)));
        assert_eq!(at(&["Resources", "A", "DependsOn", "1"]), Some((4, 7)));
    }

    #[test]
    fn repeated_keys_keep_the_last_value_and_warn_at_their_own_line() {
        let text = "{\"Resources\": {\"A\": {\"Type\": \"X\",\n \"Type\": \"Y\"}}}";
        let parsed = parse("t.json", text).expect("parses");
        assert_eq!(parsed.value["Resources"]["A"]["Type"], "Y");
        let [warning] = parsed.warnings.as_slice() else {
            panic!("one warning expected: {:?}", parsed.warnings)
        };
        assert_eq!(
            warning.to_string(),
            "t.json:2:2: key Type repeats the one on line 1; the last value is used, as \
             CloudFormation does"
        );
    }

    #[test]
    fn escaped_quotes_and_brackets_in_strings_are_not_structure() {
        let text = "{\"a\\\"[{\": [\"]}\\\\\", {\"b\": 1}]}";
        let parsed = parse("t.json", text).expect("parses");
        let item = parsed.positions.get(&["a\"[{", "1", "b"]);
        assert_eq!(item.map(|l| l.column), Some(21));
    }
}
