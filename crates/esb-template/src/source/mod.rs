//! Reading template text into one JSON-shaped tree, with where each key and list item is.
//!
//! `yaml` and `json` each turn their format into the same `serde_json::Value` tree (YAML short
//! forms become the long forms CloudFormation documents), so everything after this module sees
//! a single representation; `positions` keeps the line and column of each node for errors.

mod json;
mod positions;
mod yaml;

use std::io::Read;
use std::path::Path;

use miette::{NamedSource, SourceSpan};
use serde_json::{Map, Value};

use crate::error::SyntaxError;
use crate::{TemplateError, Warning};

pub(crate) use positions::Positions;

/// A template read and shape-checked.
#[derive(Debug)]
pub(crate) struct Document {
    pub template: Map<String, Value>,
    pub positions: Positions,
    /// What the text has that CloudFormation accepts with a shrug (repeated keys).
    pub warnings: Vec<Warning>,
}

/// What a format's parser gives: the tree before its shape is checked.
#[derive(Debug)]
struct Parsed {
    value: Value,
    positions: Positions,
    warnings: Vec<Warning>,
}

/// Reads at most `limit` bytes: a larger file (or an endless one such as `/dev/zero`) is
/// refused after reading one byte more, never read whole.
pub(crate) fn read(path: &Path, limit: u64) -> Result<String, TemplateError> {
    let read_error = |error| TemplateError::Read {
        path: path.to_owned(),
        error,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit.saturating_add(1)).read_to_end(&mut bytes))
        .map_err(read_error)?;
    check_size(&path.display().to_string(), bytes.len(), limit)?;
    String::from_utf8(bytes).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

pub(crate) fn check_size(file: &str, size: usize, limit: u64) -> Result<(), TemplateError> {
    if u64::try_from(size).is_ok_and(|size| size <= limit) {
        return Ok(());
    }
    Err(TemplateError::TooLarge {
        file: file.to_string(),
        limit,
    })
}

/// Parses a template (JSON when it starts with `{`, YAML otherwise) and checks its top-level
/// shape.
pub(crate) fn parse(file: &str, text: &str) -> Result<Document, TemplateError> {
    check_flow_depth(file, text)?;
    let parsed = if text.trim_start().starts_with('{') {
        json::parse(file, text)?
    } else {
        yaml::parse(file, text)?
    };
    let structure = |message: &str| TemplateError::Structure {
        file: file.to_string(),
        message: message.to_string(),
    };
    let Value::Object(template) = parsed.value else {
        return Err(structure(
            "a template must be a mapping with a Resources section",
        ));
    };
    match template.get("Resources") {
        Some(Value::Object(_)) => {}
        Some(_) => return Err(structure("Resources must be a mapping of logical ids")),
        None => return Err(structure("the template has no Resources section")),
    }
    for section in ["Parameters", "Mappings", "Conditions", "Globals", "Outputs"] {
        match template.get(section) {
            None | Some(Value::Object(_)) | Some(Value::Null) => {}
            Some(_) => return Err(structure(&format!("{section} must be a mapping"))),
        }
    }
    Ok(Document {
        template,
        positions: parsed.positions,
        warnings: parsed.warnings,
    })
}

/// Deeper nesting than this is refused: the JSON parser stops there, and flow nesting
/// (`[[[…`) is checked before parsing because YAML parsers take time quadratic in its depth.
const MAX_DEPTH: usize = 128;

fn check_flow_depth(file: &str, text: &str) -> Result<(), TemplateError> {
    let mut depth = 0usize;
    for (offset, ch) in text.char_indices() {
        match ch {
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => continue,
        }
        if depth > MAX_DEPTH {
            let line = text[..offset].matches('\n').count() + 1;
            let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
            let message = format!("nesting deeper than {MAX_DEPTH} levels");
            return Err(syntax_error(file, text, line, column, message));
        }
    }
    Ok(())
}

fn syntax_error(
    file: &str,
    text: &str,
    line: usize,
    column: usize,
    message: String,
) -> TemplateError {
    let offset = byte_offset(text, line, column);
    TemplateError::Syntax(Box::new(SyntaxError {
        file: file.to_string(),
        line,
        column,
        message,
        source_code: NamedSource::new(file, text.to_string()),
        span: SourceSpan::from((offset, 0)),
    }))
}

/// Byte offset of a 1-based line and column, clamped to the text.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &text[line_start.min(text.len())..];
    let in_line = rest
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    (line_start + in_line).min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_ok(text: &str) -> Value {
        Value::Object(parse("t.yaml", text).expect("parses").template)
    }

    #[test]
    fn short_forms_become_long_forms() {
        let t = parse_ok(
            "Resources:\n  A:\n    Type: X\n    Properties:\n      R: !Ref P\n      G: !GetAtt B.Arn\n      S: !Sub '${A}'\n      J: !Join [',', [a, !Ref P]]\n      C: !If [Cond, 1, 2]\n",
        );
        let props = &t["Resources"]["A"]["Properties"];
        assert_eq!(props["R"], json!({"Ref": "P"}));
        assert_eq!(props["G"], json!({"Fn::GetAtt": ["B", "Arn"]}));
        assert_eq!(props["S"], json!({"Fn::Sub": "${A}"}));
        assert_eq!(props["J"], json!({"Fn::Join": [",", ["a", {"Ref": "P"}]]}));
        assert_eq!(props["C"], json!({"Fn::If": ["Cond", 1, 2]}));
    }

    #[test]
    fn yaml_syntax_errors_carry_line_and_column() {
        let err = parse("bad.yaml", "Resources:\n  A: [unclosed\n").expect_err("fails");
        match err {
            TemplateError::Syntax(e) => {
                assert_eq!(e.file, "bad.yaml");
                assert!(e.line >= 2, "line {}", e.line);
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn json_templates_parse_and_errors_have_positions() {
        let t = parse_ok("{\"Resources\": {\"A\": {\"Type\": \"X\"}}}");
        assert_eq!(t["Resources"]["A"]["Type"], "X");
        let err = parse("t.json", "{\"Resources\": {\n  \"A\": }").expect_err("fails");
        assert!(
            matches!(&err, TemplateError::Syntax(e) if e.line == 2),
            "{err:?}"
        );
    }

    #[test]
    fn shape_errors_are_reported() {
        assert!(parse("t", "- a\n- b\n").is_err());
        assert!(parse("t", "Parameters: {}\n").is_err());
        assert!(parse("t", "Resources: [a]\n").is_err());
        assert!(parse("t", "Resources:\n  A: !Bogus x\n").is_err());
        assert!(parse("t", "Resources:\n  A: !GetAtt NoDot\n").is_err());
    }

    #[test]
    fn numeric_and_boolean_keys_become_strings() {
        let t = parse_ok("Mappings:\n  M:\n    123: {true: 1}\nResources: {}\n");
        assert_eq!(t["Mappings"]["M"]["123"]["true"], 1);
    }

    #[test]
    fn files_over_the_limit_are_refused_unread() {
        let path = std::env::temp_dir().join(format!("esb-size-{}.yaml", std::process::id()));
        std::fs::write(&path, "Resources: {}\n").expect("write");
        assert!(read(&path, 14).is_ok(), "exactly the limit is read");
        let err = read(&path, 13).expect_err("one byte over");
        assert!(
            matches!(&err, TemplateError::TooLarge { limit: 13, .. }),
            "{err:?}"
        );
        std::fs::remove_file(&path).expect("remove");
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_is_refused_at_the_limit() {
        let err = read(Path::new("/dev/zero"), crate::DEFAULT_MAX_TEMPLATE_BYTES)
            .expect_err("/dev/zero never ends");
        assert!(
            err.to_string().contains("larger than 1048576 bytes"),
            "{err}"
        );
    }

    #[test]
    fn byte_offsets_are_clamped() {
        assert_eq!(byte_offset("ab\ncd", 2, 2), 4);
        assert_eq!(byte_offset("ab", 9, 9), 2);
        assert_eq!(byte_offset("é\nx", 1, 2), 2);
    }
}
