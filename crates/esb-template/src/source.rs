//! Reading template text into one JSON-shaped tree.
//!
//! YAML short forms become the long forms CloudFormation documents (`!Ref X` →
//! `{"Ref": "X"}`, `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` →
//! `{"Fn::Sub": s}`), so everything after this module sees a single representation.

use std::io::Read;
use std::path::Path;

use miette::{NamedSource, SourceSpan};
use serde_json::{Map, Value};

use crate::TemplateError;
use crate::error::SyntaxError;

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
pub(crate) fn parse(file: &str, text: &str) -> Result<Map<String, Value>, TemplateError> {
    check_flow_depth(file, text)?;
    let value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            syntax_error(file, text, e.line(), e.column(), message)
        })?
    } else {
        let mut yaml: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|e| yaml_error(file, text, &e))?;
        yaml.apply_merge().map_err(|e| yaml_error(file, text, &e))?;
        from_yaml(yaml).map_err(|message| TemplateError::Structure {
            file: file.to_string(),
            message,
        })?
    };
    let structure = |message: &str| TemplateError::Structure {
        file: file.to_string(),
        message: message.to_string(),
    };
    let Value::Object(template) = value else {
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
    Ok(template)
}

/// Deeper nesting than the parsers accept (128 levels) is refused before parsing: the YAML
/// parser takes time quadratic in the depth before it gives up on such input.
const MAX_FLOW_DEPTH: usize = 128;

fn check_flow_depth(file: &str, text: &str) -> Result<(), TemplateError> {
    let mut depth = 0usize;
    for (offset, ch) in text.char_indices() {
        match ch {
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => continue,
        }
        if depth > MAX_FLOW_DEPTH {
            let line = text[..offset].matches('\n').count() + 1;
            let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
            let message = format!("nesting deeper than {MAX_FLOW_DEPTH} levels");
            return Err(syntax_error(file, text, line, column, message));
        }
    }
    Ok(())
}

fn yaml_error(file: &str, text: &str, error: &serde_yaml::Error) -> TemplateError {
    let message = error.to_string();
    match error.location() {
        Some(location) => syntax_error(file, text, location.line(), location.column(), message),
        None => TemplateError::Structure {
            file: file.to_string(),
            message,
        },
    }
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

fn from_yaml(value: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => number(&n),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(from_yaml)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                object.insert(key_string(key)?, from_yaml(value)?);
            }
            Value::Object(object)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            short_form(name, from_yaml(tagged.value)?)?
        }
    })
}

/// The long form of one short-form tag.
fn short_form(name: &str, value: Value) -> Result<Value, String> {
    let long = match name {
        "Ref" | "Condition" => name.to_string(),
        "GetAtt" => {
            // `!GetAtt Resource.Attribute.Nested` splits at the first dot.
            let value = match value {
                Value::String(s) => match s.split_once('.') {
                    Some((resource, attribute)) => Value::Array(vec![
                        Value::String(resource.to_string()),
                        Value::String(attribute.to_string()),
                    ]),
                    None => return Err(format!("!GetAtt {s} needs the form Resource.Attribute")),
                },
                other => other,
            };
            return Ok(single("Fn::GetAtt", value));
        }
        "Sub" | "Join" | "Select" | "Split" | "If" | "Equals" | "And" | "Or" | "Not"
        | "FindInMap" | "Base64" | "GetAZs" | "ImportValue" | "Cidr" | "Length"
        | "ToJsonString" | "Transform" => format!("Fn::{name}"),
        other => return Err(format!("unknown tag !{other}")),
    };
    Ok(single(&long, value))
}

fn single(key: &str, value: Value) -> Value {
    let mut object = Map::new();
    object.insert(key.to_string(), value);
    Value::Object(object)
}

fn number(n: &serde_yaml::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::from(i)
    } else if let Some(u) = n.as_u64() {
        Value::from(u)
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(n.to_string()), Value::Number)
    }
}

fn key_string(key: serde_yaml::Value) -> Result<String, String> {
    use serde_yaml::Value as Y;
    match key {
        Y::String(s) => Ok(s),
        Y::Number(n) => Ok(n.to_string()),
        Y::Bool(b) => Ok(b.to_string()),
        other => Err(format!("mapping key {other:?} is not a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_ok(text: &str) -> Value {
        Value::Object(parse("t.yaml", text).expect("parses"))
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
        assert!(err.to_string().contains("larger than 1048576 bytes"), "{err}");
    }

    #[test]
    fn byte_offsets_are_clamped() {
        assert_eq!(byte_offset("ab\ncd", 2, 2), 4);
        assert_eq!(byte_offset("ab", 9, 9), 2);
        assert_eq!(byte_offset("é\nx", 1, 2), 2);
    }
}
