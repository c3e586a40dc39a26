//! YAML templates: the parser's events become one JSON-shaped tree, with the position of each
//! key and list item recorded on the way.
//!
//! Short-form tags become the long forms CloudFormation documents (`!Ref X` →
//! `{"Ref": "X"}`, `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` → `{"Fn::Sub": s}`).
//! Plain scalars are typed as YAML 1.2's core schema types them (`true`, `12`, `1.5`, `~`);
//! quoted and block scalars are strings. Anchors, aliases and `<<` merge keys work as in YAML.
//! A key repeated in one mapping keeps its last value, with a warning, as CloudFormation does.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};

use super::positions::Recorder;
use super::{MAX_DEPTH, Parsed, syntax_error};
use crate::TemplateError;

/// Values a template may expand to through aliases: far more than any real template has, few
/// enough that a "billion laughs" document is refused before it fills memory.
const MAX_NODES: usize = 1_000_000;

pub(super) fn parse(file: &str, text: &str) -> Result<Parsed, TemplateError> {
    let mut builder = Builder::new(file);
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let mark = e.marker();
            syntax_error(
                file,
                text,
                mark.line(),
                mark.col() + 1,
                e.info().to_string(),
            )
        })?;
        builder.event(event, span).map_err(|message| {
            syntax_error(file, text, span.start.line(), span.start.col() + 1, message)
        })?;
    }
    let (positions, warnings) = builder.recorder.finish();
    Ok(Parsed {
        value: builder.root.unwrap_or(Value::Null),
        positions,
        warnings,
    })
}

/// A mapping or sequence being read.
#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// The short-form tag on the collection (`If` for `!If [...]`).
    tag: Option<String>,
    anchor: usize,
    /// Values inside, counting what aliases expand to.
    nodes: usize,
}

#[derive(Debug)]
enum FrameKind {
    Mapping {
        map: Map<String, Value>,
        /// The key whose value comes next; `None` when a key comes next.
        key: Option<String>,
        /// `<<` values, merged when the mapping ends.
        merges: Vec<Value>,
    },
    Sequence {
        items: Vec<Value>,
    },
}

#[derive(Debug)]
struct Builder {
    recorder: Recorder,
    stack: Vec<Frame>,
    root: Option<Value>,
    /// Anchored values and how many values each holds.
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    documents: usize,
}

type BuildError = String;

impl Builder {
    fn new(file: &str) -> Builder {
        Builder {
            recorder: Recorder::new(file),
            stack: Vec::new(),
            root: None,
            anchors: HashMap::new(),
            nodes: 0,
            documents: 0,
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), BuildError> {
        let (line, column) = (span.start.line(), span.start.col() + 1);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err("a template is one YAML document; this file has more".to_string());
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.expects_key() {
                    let key = key_text(&text, style, tag.as_deref())?;
                    self.remember(anchor, Value::String(key.clone()), 1);
                    return self.key(key, line, column);
                }
                self.enter_item(line, column);
                let value = scalar(text, style, tag.as_deref())?;
                self.remember(anchor, value.clone(), 1);
                self.finish_node(value, 1)?;
            }
            Event::Alias(anchor) => {
                let (value, size) = self
                    .anchors
                    .get(&anchor)
                    .cloned()
                    .ok_or_else(|| "an alias refers to an unknown anchor".to_string())?;
                if self.expects_key() {
                    let Value::String(key) = value else {
                        return Err("a mapping key must be a string".to_string());
                    };
                    return self.key(key, line, column);
                }
                self.enter_item(line, column);
                self.finish_node(value, size)?;
            }
            Event::MappingStart(anchor, tag) => {
                let mapping = FrameKind::Mapping {
                    map: Map::new(),
                    key: None,
                    merges: Vec::new(),
                };
                self.start(mapping, anchor, tag.as_deref(), line, column)?;
            }
            Event::SequenceStart(anchor, tag) => {
                let sequence = FrameKind::Sequence { items: Vec::new() };
                self.start(sequence, anchor, tag.as_deref(), line, column)?;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let value = match frame.kind {
                    FrameKind::Mapping { map, merges, .. } => Value::Object(merged(map, merges)?),
                    FrameKind::Sequence { items } => Value::Array(items),
                };
                let value = match frame.tag {
                    Some(name) => short_form(&name, value)?,
                    None => value,
                };
                let size = frame.nodes + 1;
                self.remember(frame.anchor, value.clone(), size);
                self.finish_node(value, size)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn start(
        &mut self,
        kind: FrameKind,
        anchor: usize,
        tag: Option<&Tag>,
        line: usize,
        column: usize,
    ) -> Result<(), BuildError> {
        if self.expects_key() {
            return Err("a mapping key must be a string".to_string());
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        self.enter_item(line, column);
        self.stack.push(Frame {
            kind,
            tag: tag.map(short_form_name).transpose()?.flatten(),
            anchor,
            nodes: 0,
        });
        Ok(())
    }

    fn expects_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                kind: FrameKind::Mapping { key: None, .. },
                ..
            })
        )
    }

    fn key(&mut self, key: String, line: usize, column: usize) -> Result<(), BuildError> {
        let Some(Frame {
            kind: FrameKind::Mapping { map, key: next, .. },
            ..
        }) = self.stack.last_mut()
        else {
            return Ok(());
        };
        let repeated = key != MERGE_KEY && map.contains_key(&key);
        self.recorder.enter_key(&key, line, column, repeated);
        *next = Some(key);
        Ok(())
    }

    /// Records the position of a list item about to start.
    fn enter_item(&mut self, line: usize, column: usize) {
        if let Some(Frame {
            kind: FrameKind::Sequence { items },
            ..
        }) = self.stack.last()
        {
            self.recorder.enter_item(items.len(), line, column);
        }
    }

    /// Puts a finished value where it belongs: the root, its mapping key, or the next item.
    fn finish_node(&mut self, value: Value, size: usize) -> Result<(), BuildError> {
        self.nodes += size;
        if self.nodes > MAX_NODES {
            return Err(format!(
                "the template expands to more than {MAX_NODES} values (through aliases)"
            ));
        }
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        frame.nodes += size;
        match &mut frame.kind {
            FrameKind::Mapping { map, key, merges } => {
                let Some(key) = key.take() else {
                    return Ok(());
                };
                if key == MERGE_KEY {
                    merges.push(value);
                } else {
                    map.insert(key, value);
                }
            }
            FrameKind::Sequence { items } => items.push(value),
        }
        self.recorder.leave();
        Ok(())
    }

    /// Keeps an anchored value (anchor 0 means none) for the aliases that follow.
    fn remember(&mut self, anchor: usize, value: Value, size: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (value, size));
        }
    }
}

const MERGE_KEY: &str = "<<";

/// A mapping with its `<<` values merged in: keys it has win, then earlier merges.
fn merged(
    mut map: Map<String, Value>,
    merges: Vec<Value>,
) -> Result<Map<String, Value>, BuildError> {
    let mut sources = Vec::new();
    for merge in merges {
        match merge {
            Value::Object(source) => sources.push(source),
            Value::Array(items) => {
                for item in items {
                    let Value::Object(source) = item else {
                        return Err("<< needs a mapping or a list of mappings".to_string());
                    };
                    sources.push(source);
                }
            }
            _ => return Err("<< needs a mapping or a list of mappings".to_string()),
        }
    }
    for source in sources {
        for (key, value) in source {
            map.entry(key).or_insert(value);
        }
    }
    Ok(map)
}

/// The value of a scalar, with its tag applied.
fn scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, BuildError> {
    let value = if style == ScalarStyle::Plain && !is_core_tag(tag, "str") {
        plain(&text)
    } else {
        Value::String(text.into_owned())
    };
    match tag.map(short_form_name).transpose()?.flatten() {
        Some(name) => short_form(&name, value),
        None => Ok(value),
    }
}

/// A mapping key as text: plain numbers and booleans are keys too (`123:`, `true:`).
fn key_text(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<String, BuildError> {
    if tag.is_some_and(|tag| !tag.is_yaml_core_schema()) {
        return Err(format!("a mapping key cannot be tagged ({text})"));
    }
    match scalar(Cow::Borrowed(text), style, None)? {
        Value::String(key) => Ok(key),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("mapping key {text:?} is not a string")),
    }
}

fn is_core_tag(tag: Option<&Tag>, name: &str) -> bool {
    tag.is_some_and(|tag| tag.is_yaml_core_schema() && tag.suffix == name)
}

/// The function name of a short-form tag (`Ref` for `!Ref`); `None` for the core schema's own
/// tags (`!!str`, `!!map`, …), which only type a value.
fn short_form_name(tag: &Tag) -> Result<Option<String>, BuildError> {
    if tag.is_yaml_core_schema() {
        return Ok(None);
    }
    if tag.handle == "!" {
        return Ok(Some(tag.suffix.clone()));
    }
    Err(format!("unknown tag {tag}"))
}

/// YAML 1.2 core schema typing of a plain scalar, as serde_yaml (which esb used before) types
/// it: null, booleans, integers (decimal, `0x`, `0o`, `0b`), then floats; anything else, and
/// digits with a leading zero such as `0123`, stays a string.
fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(integer) = integer(text) {
        return integer;
    }
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    let number = (!leading_zero_digits(text) && !unsigned.starts_with(['+', '-']))
        .then(|| unsigned.parse::<f64>().ok())
        .flatten()
        .and_then(serde_json::Number::from_f64);
    match number {
        Some(number) => Value::Number(number),
        None => Value::String(text.to_string()),
    }
}

fn integer(text: &str) -> Option<Value> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, digits) = [("0x", 16), ("0o", 8), ("0b", 2)]
        .into_iter()
        .find_map(|(prefix, radix)| unsigned.strip_prefix(prefix).map(|d| (radix, d)))
        .unwrap_or((10, unsigned));
    if digits.starts_with(['+', '-']) || (radix == 10 && leading_zero_digits(text)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if !negative {
        return Some(Value::from(magnitude));
    }
    i64::try_from(-i128::from(magnitude)).ok().map(Value::from)
}

/// `0123`, `-007`: YAML 1.2 reads a leading zero before more digits as a string.
fn leading_zero_digits(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits[1..].bytes().all(|b| b.is_ascii_digit())
}

/// The long form of one short-form tag.
fn short_form(name: &str, value: Value) -> Result<Value, BuildError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tree(text: &str) -> Value {
        parse("t.yaml", text).expect("parses").value
    }

    #[test]
    fn plain_scalars_are_typed_as_before() {
        let t = tree(
            "a: 12\nb: -3\nc: 0x1F\nd: 1.5\ne: 0123\nf: true\ng: ~\nh: ''\ni: '12'\nj: 3.10\n\
             k: .inf\nl: 1e3\nm: python3.12\nn: +7\no: 99999999999999999999\n",
        );
        assert_eq!(
            t,
            json!({"a": 12, "b": -3, "c": 31, "d": 1.5, "e": "0123", "f": true, "g": null,
                   "h": "", "i": "12", "j": 3.1, "k": ".inf", "l": 1000.0, "m": "python3.12",
                   "n": 7, "o": 1e20})
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys_expand() {
        let t = tree("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nlist: [*b]\n");
        assert_eq!(t["use"], json!({"x": 1, "y": 3}));
        assert_eq!(t["list"], json!([{"x": 1, "y": 2}]));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..8 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let err = parse("bomb.yaml", &text).expect_err("refused");
        assert!(
            err.to_string().contains("more than 1000000 values"),
            "{err}"
        );
    }

    #[test]
    fn repeated_keys_keep_the_last_value_and_warn_at_their_own_line() {
        let parsed =
            parse("t.yaml", "Resources:\n  A:\n    Type: X\n    Type: Y\n").expect("parses");
        assert_eq!(parsed.value["Resources"]["A"]["Type"], "Y");
        let [warning] = parsed.warnings.as_slice() else {
            panic!("one warning expected: {:?}", parsed.warnings)
        };
        assert_eq!(
            warning.to_string(),
            "t.yaml:4:5: key Type repeats the one on line 3; the last value is used, as \
             CloudFormation does"
        );
    }

    #[test]
    fn keys_and_items_have_positions() {
        let parsed = parse(
            "t.yaml",
            "Resources:\n  A:\n    DependsOn:\n      - B\n      - C\n",
        )
        .expect("parses");
        let item = parsed.positions.get(&["Resources", "A", "DependsOn", "1"]);
        assert_eq!(item.map(|l| (l.line, l.column)), Some((5, 9)));
        let key = parsed.positions.get(&["Resources", "A"]);
        assert_eq!(key.map(|l| (l.line, l.column)), Some((2, 3)));
    }

    #[test]
    fn more_than_one_document_is_refused() {
        assert!(parse("t.yaml", "a: 1\n---\nb: 2\n").is_err());
    }

    #[test]
    fn block_nesting_is_bounded() {
        let mut text = String::new();
        for depth in 0..200 {
            text.push_str(&format!("{}k{depth}:\n", " ".repeat(depth)));
        }
        let err = parse("deep.yaml", &text).expect_err("too deep");
        assert!(err.to_string().contains("nesting deeper than"), "{err}");
    }
}
