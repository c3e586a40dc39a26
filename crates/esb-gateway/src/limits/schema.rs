//! JSON Schema draft 4 validation of request bodies against an API's models.
//!
//! API Gateway validates bodies with the fge java json-schema-validator. This module keeps its
//! draft-4 semantics and the wording of its messages, so that the items of
//! `$context.error.validationErrorString` read as they do on AWS.
//!
//! A model compiles once into an arena of nodes. Every schema location reached from the model,
//! through `$ref` too, becomes one node keyed by (model, JSON pointer): a recursive model is then
//! a cycle of indices rather than an infinite tree, and validation never has to resolve anything.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use regex::Regex;
use serde_json::{Map, Number, Value};

/// One API's models by name, as written in the template (`Models:` of an AWS::Serverless::Api).
pub type Models = indexmap::IndexMap<String, Value>;

/// Deepest nesting of arrays and objects that `validate` accepts. Deeper bodies are refused
/// before the recursive walk starts, so a hostile body cannot exhaust the stack.
const MAX_INSTANCE_DEPTH: usize = 128;

/// API Gateway's URL of a model of the same API: this prefix, the API id, `/models/`, the name.
const MODEL_URL_PREFIX: &str = "https://apigateway.amazonaws.com/restapis/";

/// Why a model cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError(pub String);

impl fmt::Display for SchemaError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for SchemaError {}

/// A model ready to check bodies against: `$ref`s resolved, patterns compiled.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Every index stored in a node points into this same arena.
    nodes: Vec<Node>,
    root: usize,
}

impl Schema {
    /// Compiles the model `name` of `models`. Fails for a missing model, a `$ref` that names
    /// nothing, an invalid `pattern`/`patternProperties` regex, or a keyword with a value of the
    /// wrong type (e.g. "required": "x").
    pub fn compile(name: &str, models: &Models) -> Result<Schema, SchemaError> {
        let Some(model) = models.get(name) else {
            return Err(SchemaError(format!("model \"{name}\" is not defined")));
        };
        let mut compiler = Compiler::new(models);
        let root = compiler.compile_location(SchemaLocation::root(name), model)?;
        compiler.reject_in_place_cycles()?;
        Ok(Schema {
            nodes: compiler.nodes,
            root,
        })
    }

    /// Checks one JSON document. Ok(()) when valid; else every violation found, each a message
    /// worded as fge words it, prefixed with the JSON pointer of the offending value unless that
    /// value is the document itself.
    pub fn validate(&self, instance: &Value) -> Result<(), Vec<String>> {
        if nesting_exceeds(instance, MAX_INSTANCE_DEPTH) {
            return Err(vec![format!(
                "instance is nested too deeply (more than {MAX_INSTANCE_DEPTH} levels)"
            )]);
        }
        let mut violations = Vec::new();
        self.check(self.root, instance, "", &mut violations);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Compiled form
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Node {
    /// `$ref`: the schema at this index applies instead (draft 4 ignores the siblings).
    Ref(usize),
    Keywords(Box<Keywords>),
}

impl Default for Node {
    /// The empty schema, which accepts anything; stands in for a node while it compiles.
    fn default() -> Self {
        Node::Keywords(Box::default())
    }
}

/// The keywords of one schema. Absent keywords constrain nothing.
#[derive(Debug, Clone, Default)]
struct Keywords {
    types: Option<Vec<JsonType>>,
    enumeration: Option<Enumeration>,
    maximum: Option<Bound>,
    minimum: Option<Bound>,
    multiple_of: Option<Number>,
    max_length: Option<u64>,
    min_length: Option<u64>,
    pattern: Option<Pattern>,
    items: ItemSchemas,
    additional_items: Additional,
    max_items: Option<u64>,
    min_items: Option<u64>,
    unique_items: bool,
    properties: BTreeMap<String, usize>,
    pattern_properties: Vec<(Pattern, usize)>,
    additional_properties: Additional,
    /// Sorted, as fge sorts it, so missing names are listed in that order.
    required: Vec<String>,
    max_properties: Option<u64>,
    min_properties: Option<u64>,
    dependencies: BTreeMap<String, Dependency>,
    all_of: Option<Vec<usize>>,
    any_of: Option<Vec<usize>>,
    one_of: Option<Vec<usize>>,
    not: Option<usize>,
}

impl Keywords {
    /// Whether `properties` or `patternProperties` speak for this member name.
    fn declares(&self, name: &str) -> bool {
        self.properties.contains_key(name)
            || self
                .pattern_properties
                .iter()
                .any(|(pattern, _)| pattern.regex.is_match(name))
    }

    /// The schemas a member value must match: its `properties` entry and every matching
    /// `patternProperties` entry, or else an `additionalProperties` schema.
    fn member_schemas(&self, name: &str) -> Vec<usize> {
        let mut nodes: Vec<usize> = self.properties.get(name).copied().into_iter().collect();
        nodes.extend(
            self.pattern_properties
                .iter()
                .filter(|(pattern, _)| pattern.regex.is_match(name))
                .map(|(_, node)| *node),
        );
        if nodes.is_empty()
            && let Additional::Schema(node) = self.additional_properties
        {
            nodes.push(node);
        }
        nodes
    }

    /// The schema the array element at `index` must match, if any.
    fn item_schema(&self, index: usize) -> Option<usize> {
        match &self.items {
            ItemSchemas::Absent => None,
            ItemSchemas::Every(node) => Some(*node),
            ItemSchemas::Tuple(nodes) => {
                nodes.get(index).copied().or(match self.additional_items {
                    Additional::Schema(node) => Some(node),
                    Additional::Allowed | Additional::Forbidden => None,
                })
            }
        }
    }

    /// Schemas applied to the very instance this schema checks (not to a member or element).
    fn in_place_schemas(&self) -> impl Iterator<Item = usize> + '_ {
        let dependency_schemas =
            self.dependencies
                .values()
                .filter_map(|dependency| match dependency {
                    Dependency::Schema(node) => Some(*node),
                    Dependency::Properties(_) => None,
                });
        [&self.all_of, &self.any_of, &self.one_of]
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .chain(self.not)
            .chain(dependency_schemas)
    }
}

/// The primitive types of draft 4, in fge's order (which is also alphabetical).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum JsonType {
    Array,
    Boolean,
    Integer,
    Null,
    Number,
    Object,
    String,
}

impl JsonType {
    fn from_name(name: &str) -> Option<JsonType> {
        Some(match name {
            "array" => JsonType::Array,
            "boolean" => JsonType::Boolean,
            "integer" => JsonType::Integer,
            "null" => JsonType::Null,
            "number" => JsonType::Number,
            "object" => JsonType::Object,
            "string" => JsonType::String,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            JsonType::Array => "array",
            JsonType::Boolean => "boolean",
            JsonType::Integer => "integer",
            JsonType::Null => "null",
            JsonType::Number => "number",
            JsonType::Object => "object",
            JsonType::String => "string",
        }
    }

    fn of(value: &Value) -> JsonType {
        match value {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Boolean,
            Value::Number(number) if is_integer(number) => JsonType::Integer,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }
}

#[derive(Debug, Clone)]
struct Enumeration {
    /// The enum as compact JSON, for the message.
    possible_values: String,
    /// `canonical_json` of each value, so 1 and 1.0 compare equal.
    canonical: HashSet<String>,
}

/// `minimum` or `maximum` with its draft-4 boolean `exclusiveMinimum`/`exclusiveMaximum`.
#[derive(Debug, Clone)]
struct Bound {
    limit: Number,
    exclusive: bool,
}

#[derive(Debug, Clone)]
struct Pattern {
    source: String,
    regex: Regex,
}

#[derive(Debug, Clone, Default)]
enum ItemSchemas {
    #[default]
    Absent,
    /// `items` is one schema: every element matches it.
    Every(usize),
    /// `items` is an array: element i matches schema i, the rest `additionalItems`.
    Tuple(Vec<usize>),
}

/// `additionalItems` / `additionalProperties`.
#[derive(Debug, Clone, Copy, Default)]
enum Additional {
    #[default]
    Allowed,
    Forbidden,
    Schema(usize),
}

#[derive(Debug, Clone)]
enum Dependency {
    /// The named members must be present too.
    Properties(Vec<String>),
    /// The whole object must match this schema too.
    Schema(usize),
}

// ---------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------

/// A schema's place: the model holding it and the unescaped JSON pointer tokens to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SchemaLocation {
    model: String,
    pointer: Vec<String>,
}

impl SchemaLocation {
    fn root(model: &str) -> SchemaLocation {
        SchemaLocation {
            model: model.to_owned(),
            pointer: Vec::new(),
        }
    }

    fn child(&self, tokens: &[&str]) -> SchemaLocation {
        let mut pointer = self.pointer.clone();
        pointer.extend(tokens.iter().map(|token| (*token).to_owned()));
        SchemaLocation {
            model: self.model.clone(),
            pointer,
        }
    }

    /// An error about the schema here; says where, since a model can be large.
    fn error(&self, message: impl fmt::Display) -> SchemaError {
        SchemaError(format!("{message} (model {}, at {self})", self.model))
    }

    fn keyword_error(&self, keyword: &str, expected: &str) -> SchemaError {
        self.error(format!("\"{keyword}\" must be {expected}"))
    }
}

impl fmt::Display for SchemaLocation {
    /// As a URI fragment: `#/properties/a~1b`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("#")?;
        for token in &self.pointer {
            write!(formatter, "/{}", escape_pointer_token(token))?;
        }
        Ok(())
    }
}

struct Compiler<'m> {
    models: &'m Models,
    nodes: Vec<Node>,
    /// Where each node came from, to say where a cycle is.
    locations: Vec<SchemaLocation>,
    index_of: HashMap<SchemaLocation, usize>,
}

impl<'m> Compiler<'m> {
    fn new(models: &'m Models) -> Compiler<'m> {
        Compiler {
            models,
            nodes: Vec::new(),
            locations: Vec::new(),
            index_of: HashMap::new(),
        }
    }

    /// The node of the schema `value` found at `location`, compiling it the first time.
    fn compile_location(
        &mut self,
        location: SchemaLocation,
        value: &'m Value,
    ) -> Result<usize, SchemaError> {
        if let Some(&index) = self.index_of.get(&location) {
            return Ok(index);
        }
        // Register the index before compiling the children, so that a `$ref` back to this
        // location (a recursive model) finds it instead of compiling it again forever.
        let index = self.nodes.len();
        self.nodes.push(Node::default());
        self.locations.push(location.clone());
        self.index_of.insert(location.clone(), index);
        let node = self.compile_node(&location, value)?;
        self.nodes[index] = node;
        Ok(index)
    }

    fn compile_node(
        &mut self,
        location: &SchemaLocation,
        value: &'m Value,
    ) -> Result<Node, SchemaError> {
        let Value::Object(schema) = value else {
            return Err(location.error("a schema must be a JSON object"));
        };
        match schema.get("$ref") {
            Some(Value::String(reference)) => {
                let (target, target_value) = self.resolve_ref(location, reference)?;
                Ok(Node::Ref(self.compile_location(target, target_value)?))
            }
            Some(_) => Err(location.keyword_error("$ref", "a string")),
            None => Ok(Node::Keywords(Box::new(
                self.compile_keywords(location, schema)?,
            ))),
        }
    }

    fn compile_keywords(
        &mut self,
        location: &SchemaLocation,
        schema: &'m Map<String, Value>,
    ) -> Result<Keywords, SchemaError> {
        let reader = KeywordReader { location, schema };
        Ok(Keywords {
            types: reader.types()?,
            enumeration: reader.enumeration()?,
            maximum: reader.bound("maximum", "exclusiveMaximum")?,
            minimum: reader.bound("minimum", "exclusiveMinimum")?,
            multiple_of: reader.multiple_of()?,
            max_length: reader.count("maxLength")?,
            min_length: reader.count("minLength")?,
            pattern: reader.pattern()?,
            items: self.items(location, schema)?,
            additional_items: self.additional(location, schema, "additionalItems")?,
            max_items: reader.count("maxItems")?,
            min_items: reader.count("minItems")?,
            unique_items: reader.flag("uniqueItems")?.unwrap_or(false),
            properties: self.schema_map(location, schema, "properties")?,
            pattern_properties: self.pattern_properties(location, schema)?,
            additional_properties: self.additional(location, schema, "additionalProperties")?,
            required: reader.required()?,
            max_properties: reader.count("maxProperties")?,
            min_properties: reader.count("minProperties")?,
            dependencies: self.dependencies(location, schema)?,
            all_of: self.schema_list(location, schema, "allOf")?,
            any_of: self.schema_list(location, schema, "anyOf")?,
            one_of: self.schema_list(location, schema, "oneOf")?,
            not: self.subschema(location, schema, "not")?,
        })
    }

    fn subschema(
        &mut self,
        location: &SchemaLocation,
        schema: &'m Map<String, Value>,
        keyword: &str,
    ) -> Result<Option<usize>, SchemaError> {
        schema
            .get(keyword)
            .map(|value| self.compile_location(location.child(&[keyword]), value))
            .transpose()
    }

    fn schema_list(
        &mut self,
        location: &SchemaLocation,
        schema: &'m Map<String, Value>,
        keyword: &str,
    ) -> Result<Option<Vec<usize>>, SchemaError> {
        let Some(value) = schema.get(keyword) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(location.keyword_error(keyword, "an array of schemas"));
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                self.compile_location(location.child(&[keyword, &index.to_string()]), item)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn schema_map(
        &mut self,
        location: &SchemaLocation,
        schema: &'m Map<String, Value>,
        keyword: &str,
    ) -> Result<BTreeMap<String, usize>, SchemaError> {
        let Some(value) = schema.get(keyword) else {
            return Ok(BTreeMap::new());
        };
        let Value::Object(members) = value else {
            return Err(location.keyword_error(keyword, "an object of schemas"));
        };
        members
            .iter()
            .map(|(name, member)| {
                let node = self.compile_location(location.child(&[keyword, name]), member)?;
                Ok((name.clone(), node))
            })
            .collect()
    }

    fn pattern_properties(
        &mut self,
        location: &SchemaLocation,
        schema: &'m Map<String, Value>,
    ) -> Result<Vec<(Pattern, usize)>, SchemaError> {
        let keyword = "patternProperties";
        let by_source = self.schema_map(location, schema, keyword)?;
        let keyword_location = location.child(&[keyword]);
        by_source
            .into_iter()
            .map(|(source, node)| Ok((compile_pattern(&keyword_location, &source)?, node)))
            .collect()
    }

    fn items(
        &mut self,
        location: &SchemaLocation,
        schema: &'m Map<String, Value>,
    ) -> Result<ItemSchemas, SchemaError> {
        match schema.get("items") {
            None => Ok(ItemSchemas::Absent),
            Some(Value::Array(_)) => Ok(ItemSchemas::Tuple(
                self.schema_list(location, schema, "items")?
                    .unwrap_or_default(),
            )),
            Some(value) => Ok(ItemSchemas::Every(
                self.compile_location(location.child(&["items"]), value)?,
            )),
        }
    }

    fn additional(
        &mut self,
        location: &SchemaLocation,
        schema: &'m Map<String, Value>,
        keyword: &str,
    ) -> Result<Additional, SchemaError> {
        match schema.get(keyword) {
            None | Some(Value::Bool(true)) => Ok(Additional::Allowed),
            Some(Value::Bool(false)) => Ok(Additional::Forbidden),
            Some(value) => Ok(Additional::Schema(
                self.compile_location(location.child(&[keyword]), value)?,
            )),
        }
    }

    fn dependencies(
        &mut self,
        location: &SchemaLocation,
        schema: &'m Map<String, Value>,
    ) -> Result<BTreeMap<String, Dependency>, SchemaError> {
        let keyword = "dependencies";
        let Some(value) = schema.get(keyword) else {
            return Ok(BTreeMap::new());
        };
        let Value::Object(members) = value else {
            return Err(location.keyword_error(keyword, "an object"));
        };
        members
            .iter()
            .map(|(name, dependency)| {
                let dependency = match dependency {
                    Value::Array(names) => {
                        Dependency::Properties(string_list(names).ok_or_else(|| {
                            location
                                .keyword_error(keyword, "an object of schemas or arrays of strings")
                        })?)
                    }
                    _ => Dependency::Schema(
                        self.compile_location(location.child(&[keyword, name]), dependency)?,
                    ),
                };
                Ok((name.clone(), dependency))
            })
            .collect()
    }

    /// Where a `$ref` found at `from` points, and the schema there.
    fn resolve_ref(
        &self,
        from: &SchemaLocation,
        reference: &str,
    ) -> Result<(SchemaLocation, &'m Value), SchemaError> {
        let dangling = |why: String| from.error(format!("$ref {reference} names no model: {why}"));
        let (base, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let model = if base.is_empty() {
            from.model.clone()
        } else {
            model_name_in_url(base)
                .ok_or_else(|| {
                    dangling(
                        "only \"#...\" pointers and API Gateway model URLs are supported".into(),
                    )
                })?
                .to_owned()
        };
        let pointer = parse_fragment(fragment).map_err(&dangling)?;
        let models: &'m Models = self.models;
        let Some(document) = models.get(&model) else {
            return Err(dangling(format!("this API has no model \"{model}\"")));
        };
        let target = SchemaLocation { model, pointer };
        match resolve_pointer(document, &target.pointer) {
            Some(value) => Ok((target, value)),
            None => Err(dangling(format!(
                "model \"{}\" has nothing at {target}",
                target.model
            ))),
        }
    }

    /// Refuses schemas that apply themselves to the same instance again (through `$ref`,
    /// `allOf`, `anyOf`, `oneOf`, `not` or a schema dependency): checking them would never end,
    /// since no step descends into the instance. Every node is reachable from the root (the
    /// compiler only compiles what the model uses), so checking every node is exact.
    fn reject_in_place_cycles(&self) -> Result<(), SchemaError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Unseen,
            OnPath,
            Done,
        }
        let mut marks = vec![Mark::Unseen; self.nodes.len()];
        for start in 0..self.nodes.len() {
            if marks[start] != Mark::Unseen {
                continue;
            }
            // Iterative depth-first search: each entry is a node and its successors left to visit.
            marks[start] = Mark::OnPath;
            let mut path = vec![(start, self.in_place_successors(start))];
            while let Some((node, successors)) = path.last_mut() {
                let node = *node;
                match successors.pop() {
                    Some(next) if marks[next] == Mark::OnPath => {
                        return Err(self.locations[next].error(
                            "$ref cycle: this schema applies itself to the same instance again",
                        ));
                    }
                    Some(next) if marks[next] == Mark::Unseen => {
                        marks[next] = Mark::OnPath;
                        path.push((next, self.in_place_successors(next)));
                    }
                    Some(_) => {}
                    None => {
                        marks[node] = Mark::Done;
                        path.pop();
                    }
                }
            }
        }
        Ok(())
    }

    fn in_place_successors(&self, node: usize) -> Vec<usize> {
        match &self.nodes[node] {
            Node::Ref(target) => vec![*target],
            Node::Keywords(keywords) => keywords.in_place_schemas().collect(),
        }
    }
}

/// Reads the keywords whose values are not schemas, checking their types.
struct KeywordReader<'a> {
    location: &'a SchemaLocation,
    schema: &'a Map<String, Value>,
}

impl KeywordReader<'_> {
    fn count(&self, keyword: &str) -> Result<Option<u64>, SchemaError> {
        self.schema
            .get(keyword)
            .map(|value| {
                non_negative_integer(value).ok_or_else(|| {
                    self.location
                        .keyword_error(keyword, "a non-negative integer")
                })
            })
            .transpose()
    }

    fn flag(&self, keyword: &str) -> Result<Option<bool>, SchemaError> {
        self.schema
            .get(keyword)
            .map(|value| {
                value
                    .as_bool()
                    .ok_or_else(|| self.location.keyword_error(keyword, "a boolean"))
            })
            .transpose()
    }

    fn number(&self, keyword: &str) -> Result<Option<Number>, SchemaError> {
        match self.schema.get(keyword) {
            None => Ok(None),
            Some(Value::Number(number)) => Ok(Some(number.clone())),
            Some(_) => Err(self.location.keyword_error(keyword, "a number")),
        }
    }

    fn bound(&self, keyword: &str, exclusive_keyword: &str) -> Result<Option<Bound>, SchemaError> {
        match (self.number(keyword)?, self.flag(exclusive_keyword)?) {
            (Some(limit), exclusive) => Ok(Some(Bound {
                limit,
                exclusive: exclusive.unwrap_or(false),
            })),
            // Draft 4's meta-schema makes the exclusive flag depend on the limit.
            (None, Some(_)) => Err(self
                .location
                .error(format!("\"{exclusive_keyword}\" needs \"{keyword}\""))),
            (None, None) => Ok(None),
        }
    }

    fn multiple_of(&self) -> Result<Option<Number>, SchemaError> {
        let keyword = "multipleOf";
        let divisor = self.number(keyword)?;
        match &divisor {
            Some(number) if !to_f64(number).is_finite() || to_f64(number) <= 0.0 => Err(self
                .location
                .keyword_error(keyword, "a number greater than 0")),
            _ => Ok(divisor),
        }
    }

    fn types(&self) -> Result<Option<Vec<JsonType>>, SchemaError> {
        let wrong = || {
            self.location
                .keyword_error("type", "a type name or an array of type names")
        };
        let names: Vec<&Value> = match self.schema.get("type") {
            None => return Ok(None),
            Some(name @ Value::String(_)) => vec![name],
            Some(Value::Array(names)) => names.iter().collect(),
            Some(_) => return Err(wrong()),
        };
        let mut types = names
            .into_iter()
            .map(|name| {
                name.as_str()
                    .and_then(JsonType::from_name)
                    .ok_or_else(wrong)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Integers are numbers; fge then lists "integer" among the allowed types as well.
        if types.contains(&JsonType::Number) {
            types.push(JsonType::Integer);
        }
        types.sort_unstable();
        types.dedup();
        Ok(Some(types))
    }

    fn enumeration(&self) -> Result<Option<Enumeration>, SchemaError> {
        match self.schema.get("enum") {
            None => Ok(None),
            Some(list @ Value::Array(values)) => Ok(Some(Enumeration {
                possible_values: list.to_string(),
                canonical: values.iter().map(canonical_json).collect(),
            })),
            Some(_) => Err(self.location.keyword_error("enum", "an array")),
        }
    }

    fn pattern(&self) -> Result<Option<Pattern>, SchemaError> {
        match self.schema.get("pattern") {
            None => Ok(None),
            Some(Value::String(source)) => compile_pattern(self.location, source).map(Some),
            Some(_) => Err(self.location.keyword_error("pattern", "a string")),
        }
    }

    fn required(&self) -> Result<Vec<String>, SchemaError> {
        let wrong = || {
            self.location
                .keyword_error("required", "an array of strings")
        };
        let mut names = match self.schema.get("required") {
            None => Vec::new(),
            Some(Value::Array(names)) => string_list(names).ok_or_else(wrong)?,
            Some(_) => return Err(wrong()),
        };
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }
}

fn compile_pattern(location: &SchemaLocation, source: &str) -> Result<Pattern, SchemaError> {
    match Regex::new(source) {
        Ok(regex) => Ok(Pattern {
            source: source.to_owned(),
            regex,
        }),
        Err(error) => Err(location.error(format!(
            "pattern \"{source}\" is not a valid regular expression: {}",
            regex_error_summary(&error)
        ))),
    }
}

/// The one-line cause of a regex error (its full text repeats the pattern over several lines).
fn regex_error_summary(error: &regex::Error) -> String {
    let text = error.to_string();
    let last_line = text.lines().rev().find(|line| !line.trim().is_empty());
    last_line
        .map(|line| line.trim().trim_start_matches("error: ").to_owned())
        .unwrap_or(text)
}

fn string_list(values: &[Value]) -> Option<Vec<String>> {
    values
        .iter()
        .map(|value| value.as_str().map(str::to_owned))
        .collect()
}

fn non_negative_integer(value: &Value) -> Option<u64> {
    let number = value.as_number()?;
    number.as_u64().or_else(|| {
        let float = number.as_f64()?;
        // Whole floats such as 3.0 count; `as` saturates, and the range check keeps it exact.
        (float >= 0.0 && float.fract() == 0.0 && float < u64::MAX as f64).then_some(float as u64)
    })
}

/// The model an API Gateway model URL names:
/// `https://apigateway.amazonaws.com/restapis/{api}/models/{Name}`.
fn model_name_in_url(url: &str) -> Option<&str> {
    let (_api, name) = url
        .strip_prefix(MODEL_URL_PREFIX)?
        .rsplit_once("/models/")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// The JSON pointer tokens of a `$ref` fragment (the part after `#`), percent-decoded and
/// unescaped.
fn parse_fragment(fragment: &str) -> Result<Vec<String>, String> {
    let decoded = percent_decode(fragment)?;
    if decoded.is_empty() {
        return Ok(Vec::new());
    }
    let Some(pointer) = decoded.strip_prefix('/') else {
        return Err(format!("fragment \"#{fragment}\" is not a JSON pointer"));
    };
    Ok(pointer.split('/').map(unescape_pointer_token).collect())
}

/// Decodes the `%XX` escapes of a URI fragment (RFC 6901 §6 puts pointers in fragments so).
fn percent_decode(text: &str) -> Result<String, String> {
    let invalid = || format!("fragment \"#{text}\" has an invalid percent-escape");
    let mut pieces = text.split('%');
    let mut bytes = pieces.next().unwrap_or_default().as_bytes().to_vec();
    for piece in pieces {
        let hex = piece
            .get(..2)
            .filter(|hex| hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .ok_or_else(invalid)?;
        bytes.push(u8::from_str_radix(hex, 16).map_err(|_| invalid())?);
        bytes.extend_from_slice(piece.get(2..).unwrap_or_default().as_bytes());
    }
    String::from_utf8(bytes).map_err(|_| invalid())
}

fn unescape_pointer_token(token: &str) -> String {
    // `~1` first: "~01" must become "~1", not "/".
    token.replace("~1", "/").replace("~0", "~")
}

fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn resolve_pointer<'v>(document: &'v Value, tokens: &[String]) -> Option<&'v Value> {
    tokens
        .iter()
        .try_fold(document, |value, token| match value {
            Value::Object(members) => members.get(token),
            Value::Array(items) => items.get(token.parse::<usize>().ok()?),
            _ => None,
        })
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

impl Schema {
    fn check(&self, node: usize, instance: &Value, pointer: &str, out: &mut Vec<String>) {
        match &self.nodes[node] {
            Node::Ref(target) => self.check(*target, instance, pointer, out),
            Node::Keywords(keywords) => self.check_keywords(keywords, instance, pointer, out),
        }
    }

    fn matches(&self, node: usize, instance: &Value, pointer: &str) -> bool {
        let mut violations = Vec::new();
        self.check(node, instance, pointer, &mut violations);
        violations.is_empty()
    }

    fn check_keywords(
        &self,
        keywords: &Keywords,
        instance: &Value,
        pointer: &str,
        out: &mut Vec<String>,
    ) {
        // fge runs the keywords of one schema in alphabetical order, then goes down into the
        // members or elements; keep that order so that the messages come in the same order.
        let mut messages = Vec::new();
        match instance {
            Value::Array(items) => check_additional_items(keywords, items, &mut messages),
            Value::Object(members) => check_additional_properties(keywords, members, &mut messages),
            _ => {}
        }
        self.check_all_of(keywords, instance, pointer, &mut messages);
        self.check_any_of(keywords, instance, pointer, &mut messages);
        // Schema dependencies add their violations to `out` themselves: flush what came before.
        report(out, pointer, messages.drain(..));
        if let Value::Object(members) = instance {
            check_property_dependencies(keywords, members, &mut messages);
            report(out, pointer, messages.drain(..));
            self.check_schema_dependencies(keywords, members, instance, pointer, out);
        }
        check_enum(keywords, instance, &mut messages);
        check_size_limits(keywords, instance, &mut messages);
        self.check_not(keywords, instance, pointer, &mut messages);
        self.check_one_of(keywords, instance, pointer, &mut messages);
        match instance {
            Value::String(text) => check_pattern(keywords, text, &mut messages),
            Value::Object(members) => check_required(keywords, members, &mut messages),
            _ => {}
        }
        check_type(keywords, instance, &mut messages);
        if let Value::Array(items) = instance {
            check_unique_items(keywords, items, &mut messages);
        }
        report(out, pointer, messages);
        self.check_children(keywords, instance, pointer, out);
    }

    fn check_all_of(
        &self,
        keywords: &Keywords,
        instance: &Value,
        pointer: &str,
        messages: &mut Vec<String>,
    ) {
        if let Some(nodes) = &keywords.all_of {
            let matched = self.count_matches(nodes, instance, pointer);
            if matched < nodes.len() {
                messages.push(format!(
                    "instance failed to match all required schemas (matched only {matched} out of {})",
                    nodes.len()
                ));
            }
        }
    }

    fn check_any_of(
        &self,
        keywords: &Keywords,
        instance: &Value,
        pointer: &str,
        messages: &mut Vec<String>,
    ) {
        if let Some(nodes) = &keywords.any_of
            && !nodes
                .iter()
                .any(|&node| self.matches(node, instance, pointer))
        {
            messages.push(format!(
                "instance failed to match at least one required schema among {}",
                nodes.len()
            ));
        }
    }

    fn check_one_of(
        &self,
        keywords: &Keywords,
        instance: &Value,
        pointer: &str,
        messages: &mut Vec<String>,
    ) {
        if let Some(nodes) = &keywords.one_of {
            let matched = self.count_matches(nodes, instance, pointer);
            if matched != 1 {
                messages.push(format!(
                    "instance failed to match exactly one schema (matched {matched} out of {})",
                    nodes.len()
                ));
            }
        }
    }

    fn check_not(
        &self,
        keywords: &Keywords,
        instance: &Value,
        pointer: &str,
        messages: &mut Vec<String>,
    ) {
        if let Some(node) = keywords.not
            && self.matches(node, instance, pointer)
        {
            messages.push("instance matched a schema which it should not have".to_owned());
        }
    }

    fn count_matches(&self, nodes: &[usize], instance: &Value, pointer: &str) -> usize {
        nodes
            .iter()
            .filter(|&&node| self.matches(node, instance, pointer))
            .count()
    }

    /// A schema dependency's violations are the object's own, as in fge.
    fn check_schema_dependencies(
        &self,
        keywords: &Keywords,
        members: &Map<String, Value>,
        instance: &Value,
        pointer: &str,
        out: &mut Vec<String>,
    ) {
        for (name, dependency) in &keywords.dependencies {
            if let Dependency::Schema(node) = dependency
                && members.contains_key(name)
            {
                self.check(*node, instance, pointer, out);
            }
        }
    }

    fn check_children(
        &self,
        keywords: &Keywords,
        instance: &Value,
        pointer: &str,
        out: &mut Vec<String>,
    ) {
        match instance {
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    if let Some(node) = keywords.item_schema(index) {
                        self.check(node, item, &child_pointer(pointer, &index.to_string()), out);
                    }
                }
            }
            Value::Object(members) => {
                // fge visits members sorted by name, whatever their order in the body.
                let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
                sorted.sort_unstable_by_key(|(name, _)| *name);
                for (name, value) in sorted {
                    let nodes = keywords.member_schemas(name);
                    if nodes.is_empty() {
                        continue;
                    }
                    let member_pointer = child_pointer(pointer, name);
                    for node in nodes {
                        self.check(node, value, &member_pointer, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Adds `messages` to `out`, each prefixed with the instance's pointer unless it is the root.
fn report(out: &mut Vec<String>, pointer: &str, messages: impl IntoIterator<Item = String>) {
    out.extend(messages.into_iter().map(|message| {
        if pointer.is_empty() {
            message
        } else {
            format!("{pointer}: {message}")
        }
    }));
}

fn child_pointer(parent: &str, token: &str) -> String {
    format!("{parent}/{}", escape_pointer_token(token))
}

fn check_additional_items(keywords: &Keywords, items: &[Value], messages: &mut Vec<String>) {
    if let (ItemSchemas::Tuple(schemas), Additional::Forbidden) =
        (&keywords.items, keywords.additional_items)
        && items.len() > schemas.len()
    {
        messages.push(format!(
            "schema only allows {} elements in array but instance has {} elements",
            schemas.len(),
            items.len()
        ));
    }
}

fn check_additional_properties(
    keywords: &Keywords,
    members: &Map<String, Value>,
    messages: &mut Vec<String>,
) {
    if !matches!(keywords.additional_properties, Additional::Forbidden) {
        return;
    }
    let mut unwanted: Vec<&str> = members
        .keys()
        .map(String::as_str)
        .filter(|name| !keywords.declares(name))
        .collect();
    if unwanted.is_empty() {
        return;
    }
    unwanted.sort_unstable();
    messages.push(format!(
        "object instance has properties which are not allowed by the schema: {}",
        json_string_list(unwanted)
    ));
}

fn check_property_dependencies(
    keywords: &Keywords,
    members: &Map<String, Value>,
    messages: &mut Vec<String>,
) {
    for (name, dependency) in &keywords.dependencies {
        let Dependency::Properties(required) = dependency else {
            continue;
        };
        if !members.contains_key(name) {
            continue;
        }
        let missing: Vec<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|required| !members.contains_key(*required))
            .collect();
        if !missing.is_empty() {
            messages.push(format!(
                "property \"{name}\" of object has missing property dependencies (schema requires {}; missing: {})",
                json_string_list(required.iter().map(String::as_str)),
                json_string_list(missing)
            ));
        }
    }
}

fn check_enum(keywords: &Keywords, instance: &Value, messages: &mut Vec<String>) {
    if let Some(enumeration) = &keywords.enumeration
        && !enumeration.canonical.contains(&canonical_json(instance))
    {
        messages.push(format!(
            "instance value ({instance}) not found in enum (possible values: {})",
            enumeration.possible_values
        ));
    }
}

/// maxItems/minItems, maxLength/minLength, maxProperties/minProperties, or
/// maximum/minimum/multipleOf, whichever fit the instance's type.
fn check_size_limits(keywords: &Keywords, instance: &Value, messages: &mut Vec<String>) {
    match instance {
        Value::Array(items) => check_item_count(keywords, items.len(), messages),
        Value::String(text) => check_length(keywords, text, messages),
        Value::Object(members) => check_property_count(keywords, members.len(), messages),
        Value::Number(number) => check_number(keywords, number, messages),
        Value::Null | Value::Bool(_) => {}
    }
}

fn check_item_count(keywords: &Keywords, count: usize, messages: &mut Vec<String>) {
    let count = count as u64;
    if let Some(max) = keywords.max_items
        && count > max
    {
        messages.push(format!(
            "array is too long: must have at most {max} elements but instance has {count} elements"
        ));
    }
    if let Some(min) = keywords.min_items
        && count < min
    {
        messages.push(format!(
            "array is too short: must have at least {min} elements but instance has {count} elements"
        ));
    }
}

fn check_length(keywords: &Keywords, text: &str, messages: &mut Vec<String>) {
    // Draft 4 counts characters (code points), not bytes.
    let length = text.chars().count() as u64;
    if let Some(max) = keywords.max_length
        && length > max
    {
        messages.push(format!(
            "string \"{text}\" is too long (length: {length}, maximum allowed: {max})"
        ));
    }
    if let Some(min) = keywords.min_length
        && length < min
    {
        messages.push(format!(
            "string \"{text}\" is too short (length: {length}, required minimum: {min})"
        ));
    }
}

fn check_property_count(keywords: &Keywords, count: usize, messages: &mut Vec<String>) {
    let count = count as u64;
    if let Some(max) = keywords.max_properties
        && count > max
    {
        messages.push(format!(
            "object has too many properties (found {count} but schema requires at most {max})"
        ));
    }
    if let Some(min) = keywords.min_properties
        && count < min
    {
        messages.push(format!(
            "object has too few properties (found {count} but schema requires at least {min})"
        ));
    }
}

fn check_number(keywords: &Keywords, number: &Number, messages: &mut Vec<String>) {
    if let Some(maximum) = &keywords.maximum {
        let limit = format_limit(&maximum.limit);
        match compare_numbers(number, &maximum.limit) {
            Ordering::Greater => messages.push(format!(
                "numeric instance is greater than the required maximum (maximum: {limit}, found: {number})"
            )),
            Ordering::Equal if maximum.exclusive => messages.push(format!(
                "numeric instance is not strictly lower than the required maximum {limit}"
            )),
            _ => {}
        }
    }
    if let Some(minimum) = &keywords.minimum {
        let limit = format_limit(&minimum.limit);
        match compare_numbers(number, &minimum.limit) {
            Ordering::Less => messages.push(format!(
                "numeric instance is lower than the required minimum (minimum: {limit}, found: {number})"
            )),
            Ordering::Equal if minimum.exclusive => messages.push(format!(
                "numeric instance is not strictly greater than the required minimum {limit}"
            )),
            _ => {}
        }
    }
    if let Some(divisor) = &keywords.multiple_of
        && !is_multiple_of(number, divisor)
    {
        messages.push(format!(
            "remainder of division is not zero ({number} / {})",
            format_limit(divisor)
        ));
    }
}

fn check_pattern(keywords: &Keywords, text: &str, messages: &mut Vec<String>) {
    // ECMA 262 `test` semantics: the pattern may match anywhere unless it anchors itself.
    if let Some(pattern) = &keywords.pattern
        && !pattern.regex.is_match(text)
    {
        messages.push(format!(
            "ECMA 262 regex \"{}\" does not match input string \"{text}\"",
            pattern.source
        ));
    }
}

fn check_required(keywords: &Keywords, members: &Map<String, Value>, messages: &mut Vec<String>) {
    let missing: Vec<&str> = keywords
        .required
        .iter()
        .map(String::as_str)
        .filter(|name| !members.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        messages.push(format!(
            "object has missing required properties ({})",
            json_string_list(missing)
        ));
    }
}

fn check_type(keywords: &Keywords, instance: &Value, messages: &mut Vec<String>) {
    let Some(allowed) = &keywords.types else {
        return;
    };
    let found = JsonType::of(instance);
    if !allowed.contains(&found) {
        messages.push(format!(
            "instance type ({}) does not match any allowed primitive type (allowed: {})",
            found.name(),
            json_string_list(allowed.iter().map(|allowed| allowed.name()))
        ));
    }
}

fn check_unique_items(keywords: &Keywords, items: &[Value], messages: &mut Vec<String>) {
    if !keywords.unique_items {
        return;
    }
    // Hashing canonical forms keeps this linear: a pairwise comparison would let a hostile
    // body of a million elements cost 10^12 comparisons.
    let mut seen = HashSet::with_capacity(items.len());
    if !items.iter().all(|item| seen.insert(canonical_json(item))) {
        messages.push("array must not contain duplicate elements".to_owned());
    }
}

/// Whether `instance` nests arrays/objects more than `limit` levels deep; iterative, so that
/// the check itself cannot overflow the stack.
fn nesting_exceeds(instance: &Value, limit: usize) -> bool {
    let mut pending = vec![(instance, 0usize)];
    while let Some((value, depth)) = pending.pop() {
        match value {
            Value::Array(_) | Value::Object(_) if depth >= limit => return true,
            Value::Array(items) => pending.extend(items.iter().map(|item| (item, depth + 1))),
            Value::Object(members) => {
                pending.extend(members.values().map(|member| (member, depth + 1)));
            }
            _ => {}
        }
    }
    false
}

/// A JSON array of strings, compact, as fge prints lists in its messages: `["a","b"]`.
fn json_string_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    Value::Array(
        names
            .into_iter()
            .map(|name| Value::String(name.to_owned()))
            .collect(),
    )
    .to_string()
}

// ---------------------------------------------------------------------------------------------
// Numbers and JSON equality
// ---------------------------------------------------------------------------------------------

/// Draft 4: a number written without a fraction or exponent (`1.0` is a number, not an
/// integer, as fge reads it).
fn is_integer(number: &Number) -> bool {
    number.is_i64() || number.is_u64()
}

fn as_i128(number: &Number) -> Option<i128> {
    number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
}

fn to_f64(number: &Number) -> f64 {
    number.as_f64().unwrap_or(f64::NAN)
}

/// Exact for integers; floats compare as f64 (JSON has no NaN, so the order is total).
fn compare_numbers(left: &Number, right: &Number) -> Ordering {
    match (as_i128(left), as_i128(right)) {
        (Some(left), Some(right)) => left.cmp(&right),
        _ => to_f64(left).total_cmp(&to_f64(right)),
    }
}

/// A schema number as fge prints it: whole values without a fraction (10.0 reads "10").
fn format_limit(number: &Number) -> String {
    match number.as_f64() {
        Some(float) if number.is_f64() && float.fract() == 0.0 && float.abs() < 9.0e15 => {
            format!("{}", float as i64)
        }
        _ => number.to_string(),
    }
}

/// A finite decimal `mantissa × 10^exponent`.
struct Decimal {
    mantissa: i128,
    exponent: i32,
}

impl Decimal {
    /// The shortest decimal that reads back as this number: the value as written in the body,
    /// for every number with up to 17 significant digits. fge divides such decimals
    /// (BigDecimal), which is why 0.3 is a multiple of 0.1 although 0.3 / 0.1 is not 3 in f64.
    fn of(number: &Number) -> Option<Decimal> {
        if let Some(integer) = as_i128(number) {
            return Some(Decimal {
                mantissa: integer,
                exponent: 0,
            });
        }
        let scientific = format!("{:e}", number.as_f64()?);
        let (digits, exponent) = scientific.split_once('e')?;
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let fraction_digits = i32::try_from(fraction.len()).ok()?;
        Some(Decimal {
            mantissa: format!("{whole}{fraction}").parse().ok()?,
            exponent: exponent.parse::<i32>().ok()?.checked_sub(fraction_digits)?,
        })
    }

    /// The mantissa for `exponent` (at most this decimal's own), or None on i128 overflow.
    fn mantissa_at(&self, exponent: i32) -> Option<i128> {
        let shift = u32::try_from(self.exponent.checked_sub(exponent)?).ok()?;
        self.mantissa.checked_mul(10i128.checked_pow(shift)?)
    }
}

fn is_multiple_of(value: &Number, divisor: &Number) -> bool {
    exact_multiple_of(value, divisor).unwrap_or_else(|| {
        // Beyond i128 (e.g. 1e40 against 0.1) the quotient is huge; f64 is as good as it gets.
        let quotient = to_f64(value) / to_f64(divisor);
        quotient.is_finite()
            && (quotient - quotient.round()).abs() <= 1e-9 * quotient.abs().max(1.0)
    })
}

fn exact_multiple_of(value: &Number, divisor: &Number) -> Option<bool> {
    let value = Decimal::of(value)?;
    let divisor = Decimal::of(divisor)?;
    let common = value.exponent.min(divisor.exponent);
    let remainder = value
        .mantissa_at(common)?
        .checked_rem(divisor.mantissa_at(common)?)?;
    Some(remainder == 0)
}

/// A text equal for equal JSON values in draft 4's sense: members in any order, and numbers by
/// value (1 and 1.0 are equal). Used by `enum` and `uniqueItems`.
fn canonical_json(value: &Value) -> String {
    let mut text = String::new();
    write_canonical(value, &mut text);
    text
}

fn write_canonical(value: &Value, text: &mut String) {
    match value {
        Value::Null | Value::Bool(_) => text.push_str(&value.to_string()),
        Value::Number(number) => text.push_str(&canonical_number(number)),
        // Debug quoting escapes quotes and backslashes, so distinct strings stay distinct.
        Value::String(string) => text.push_str(&format!("{string:?}")),
        Value::Array(items) => {
            text.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    text.push(',');
                }
                write_canonical(item, text);
            }
            text.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_unstable_by_key(|(name, _)| *name);
            text.push('{');
            for (index, (name, member)) in sorted.into_iter().enumerate() {
                if index > 0 {
                    text.push(',');
                }
                text.push_str(&format!("{name:?}:"));
                write_canonical(member, text);
            }
            text.push('}');
        }
    }
}

fn canonical_number(number: &Number) -> String {
    if let Some(integer) = as_i128(number) {
        return integer.to_string();
    }
    let float = to_f64(number);
    // Whole floats within the integer range print as the integers they equal.
    if float.fract() == 0.0 && float.abs() < 18_446_744_073_709_551_616.0 {
        (float as i128).to_string()
    } else {
        format!("{float:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URL: &str = "https://apigateway.amazonaws.com/restapis/abc123/models";

    fn compile(model: Value) -> Schema {
        let models = Models::from([("M".to_owned(), model)]);
        Schema::compile("M", &models).expect("the model compiles")
    }

    fn compile_error(model: Value) -> String {
        let models = Models::from([("M".to_owned(), model)]);
        Schema::compile("M", &models)
            .expect_err("the model is refused")
            .0
    }

    fn violations(schema: &Schema, instance: Value) -> Vec<String> {
        schema.validate(&instance).err().unwrap_or_default()
    }

    fn assert_valid(schema: &Schema, instance: Value) {
        assert_eq!(
            schema.validate(&instance),
            Ok(()),
            "{instance} should be valid"
        );
    }

    #[test]
    fn type_names_found_and_allowed_types() {
        let schema = compile(json!({"type": "integer"}));
        assert_valid(&schema, json!(3));
        assert_eq!(
            violations(&schema, json!("3")),
            [
                "instance type (string) does not match any allowed primitive type (allowed: [\"integer\"])"
            ]
        );
    }

    #[test]
    fn type_number_accepts_integers_and_lists_both() {
        let schema = compile(json!({"type": ["string", "number"]}));
        assert_valid(&schema, json!(1));
        assert_valid(&schema, json!(1.5));
        assert_valid(&schema, json!("x"));
        assert_eq!(
            violations(&schema, json!(null)),
            [
                "instance type (null) does not match any allowed primitive type (allowed: [\"integer\",\"number\",\"string\"])"
            ]
        );
    }

    #[test]
    fn integer_accepts_numbers_written_without_a_fraction_only() {
        let schema = compile(json!({"type": "integer"}));
        assert_valid(&schema, json!(u64::MAX));
        assert_valid(&schema, json!(-3));
        for fractional in [json!(1.5), json!(1.0)] {
            assert_eq!(
                violations(&schema, fractional),
                [
                    "instance type (number) does not match any allowed primitive type (allowed: [\"integer\"])"
                ]
            );
        }
    }

    #[test]
    fn enum_compares_json_values_and_numbers_by_value() {
        let schema = compile(json!({"enum": ["a", "b", 1, {"k": [1, 2]}]}));
        assert_valid(&schema, json!("a"));
        assert_valid(&schema, json!(1.0));
        assert_valid(&schema, json!({"k": [1.0, 2]}));
        assert_eq!(
            violations(&schema, json!("x")),
            [
                "instance value (\"x\") not found in enum (possible values: [\"a\",\"b\",1,{\"k\":[1,2]}])"
            ]
        );
        assert_eq!(violations(&schema, json!({"k": [2, 1]})).len(), 1);
    }

    #[test]
    fn required_lists_missing_names_sorted() {
        let schema = compile(json!({"required": ["username", "age", "email"]}));
        assert_valid(&schema, json!({"username": "u", "age": 1, "email": "e"}));
        assert_eq!(
            violations(&schema, json!({"email": "e"})),
            ["object has missing required properties ([\"age\",\"username\"])"]
        );
        // Non-objects are not constrained by object keywords.
        assert_valid(&schema, json!("text"));
    }

    #[test]
    fn properties_apply_to_members_with_their_pointer() {
        let schema = compile(json!({
            "properties": {"user": {"properties": {"a/b": {"type": "string"}}, "required": ["username"]}}
        }));
        assert_valid(&schema, json!({"user": {"username": "x", "a/b": "y"}}));
        assert_eq!(
            violations(&schema, json!({"user": {"a/b": 1}})),
            [
                "/user: object has missing required properties ([\"username\"])",
                "/user/a~1b: instance type (integer) does not match any allowed primitive type (allowed: [\"string\"])",
            ]
        );
    }

    #[test]
    fn additional_properties_false_names_the_extra_members() {
        let schema = compile(json!({
            "properties": {"name": {}},
            "patternProperties": {"^x-": {}},
            "additionalProperties": false
        }));
        assert_valid(&schema, json!({"name": 1, "x-trace": 2}));
        assert_eq!(
            violations(&schema, json!({"name": 1, "zeta": 2, "extra": 3})),
            [
                "object instance has properties which are not allowed by the schema: [\"extra\",\"zeta\"]"
            ]
        );
    }

    #[test]
    fn additional_properties_schema_applies_to_undeclared_members_only() {
        let schema = compile(json!({
            "properties": {"name": {"type": "string"}},
            "additionalProperties": {"type": "integer"}
        }));
        assert_valid(&schema, json!({"name": "n", "count": 3}));
        assert_eq!(
            violations(&schema, json!({"name": "n", "count": "3"})),
            [
                "/count: instance type (string) does not match any allowed primitive type (allowed: [\"integer\"])"
            ]
        );
    }

    #[test]
    fn pattern_properties_apply_to_every_matching_member() {
        let schema = compile(json!({
            "patternProperties": {"^n_": {"type": "number"}, "_id$": {"minimum": 1}}
        }));
        assert_valid(&schema, json!({"n_id": 2, "other": "x"}));
        assert_eq!(
            violations(&schema, json!({"n_id": 0, "n_x": "s"})),
            [
                "/n_id: numeric instance is lower than the required minimum (minimum: 1, found: 0)",
                "/n_x: instance type (string) does not match any allowed primitive type (allowed: [\"integer\",\"number\"])",
            ]
        );
    }

    #[test]
    fn property_counts() {
        let schema = compile(json!({"minProperties": 1, "maxProperties": 2}));
        assert_valid(&schema, json!({"a": 1}));
        assert_eq!(
            violations(&schema, json!({})),
            ["object has too few properties (found 0 but schema requires at least 1)"]
        );
        assert_eq!(
            violations(&schema, json!({"a": 1, "b": 2, "c": 3})),
            ["object has too many properties (found 3 but schema requires at most 2)"]
        );
    }

    #[test]
    fn property_dependencies_name_what_is_missing() {
        let schema = compile(json!({"dependencies": {"card": ["billing", "cvc"]}}));
        assert_valid(&schema, json!({"name": "no card"}));
        assert_valid(&schema, json!({"card": 1, "billing": 2, "cvc": 3}));
        assert_eq!(
            violations(&schema, json!({"card": 1, "cvc": 3})),
            [
                "property \"card\" of object has missing property dependencies (schema requires [\"billing\",\"cvc\"]; missing: [\"billing\"])"
            ]
        );
    }

    #[test]
    fn schema_dependencies_check_the_whole_object() {
        let schema = compile(json!({"dependencies": {"card": {"required": ["billing"]}}}));
        assert_valid(&schema, json!({"other": 1}));
        assert_eq!(
            violations(&schema, json!({"card": 1})),
            ["object has missing required properties ([\"billing\"])"]
        );
    }

    #[test]
    fn items_schema_applies_to_every_element() {
        let schema = compile(json!({"items": {"required": ["id"]}}));
        assert_valid(&schema, json!([{"id": 1}, {"id": 2}]));
        assert_eq!(
            violations(&schema, json!([{"id": 1}, {}])),
            ["/1: object has missing required properties ([\"id\"])"]
        );
    }

    #[test]
    fn tuple_items_and_additional_items() {
        let closed = compile(
            json!({"items": [{"type": "string"}, {"type": "integer"}], "additionalItems": false}),
        );
        assert_valid(&closed, json!(["a"]));
        assert_valid(&closed, json!(["a", 1]));
        assert_eq!(
            violations(&closed, json!(["a", 1, true])),
            ["schema only allows 2 elements in array but instance has 3 elements"]
        );
        assert_eq!(
            violations(&closed, json!([1])),
            [
                "/0: instance type (integer) does not match any allowed primitive type (allowed: [\"string\"])"
            ]
        );

        let typed_rest = compile(json!({"items": [{}], "additionalItems": {"type": "boolean"}}));
        assert_valid(&typed_rest, json!([1, true, false]));
        assert_eq!(violations(&typed_rest, json!([1, true, 2])).len(), 1);

        // additionalItems means nothing next to a single `items` schema.
        let ignored = compile(json!({"items": {}, "additionalItems": false}));
        assert_valid(&ignored, json!([1, 2, 3]));
    }

    #[test]
    fn item_counts() {
        let schema = compile(json!({"minItems": 1, "maxItems": 2}));
        assert_valid(&schema, json!([1, 2]));
        assert_eq!(
            violations(&schema, json!([])),
            ["array is too short: must have at least 1 elements but instance has 0 elements"]
        );
        assert_eq!(
            violations(&schema, json!([1, 2, 3])),
            ["array is too long: must have at most 2 elements but instance has 3 elements"]
        );
    }

    #[test]
    fn unique_items_compares_json_values() {
        let schema = compile(json!({"uniqueItems": true}));
        assert_valid(&schema, json!([1, "1", [1], {"a": 1}, {"a": 2}]));
        let duplicates = ["array must not contain duplicate elements"];
        assert_eq!(violations(&schema, json!([1, 1.0])), duplicates);
        assert_eq!(
            violations(&schema, json!([{"a": 1, "b": 2}, {"b": 2, "a": 1}])),
            duplicates
        );
        assert_valid(&compile(json!({"uniqueItems": false})), json!([1, 1]));
    }

    #[test]
    fn lengths_count_code_points() {
        let schema = compile(json!({"minLength": 3, "maxLength": 4}));
        assert_valid(&schema, json!("été"));
        assert_valid(&schema, json!("😀😀😀😀"));
        assert_eq!(
            violations(&schema, json!("ab")),
            ["string \"ab\" is too short (length: 2, required minimum: 3)"]
        );
        assert_eq!(
            violations(&schema, json!("abcde")),
            ["string \"abcde\" is too long (length: 5, maximum allowed: 4)"]
        );
    }

    #[test]
    fn pattern_searches_unless_anchored() {
        let unanchored = compile(json!({"pattern": "[0-9]"}));
        assert_valid(&unanchored, json!("abc1def"));
        let anchored = compile(json!({"pattern": "^[a-z]+$"}));
        assert_valid(&anchored, json!("abc"));
        assert_eq!(
            violations(&anchored, json!("A1")),
            ["ECMA 262 regex \"^[a-z]+$\" does not match input string \"A1\""]
        );
        assert_valid(&anchored, json!(12));
    }

    #[test]
    fn minimum_and_maximum_inclusive_and_exclusive() {
        let inclusive = compile(json!({"minimum": 1, "maximum": 10.0}));
        assert_valid(&inclusive, json!(1));
        assert_valid(&inclusive, json!(10));
        assert_eq!(
            violations(&inclusive, json!(11)),
            ["numeric instance is greater than the required maximum (maximum: 10, found: 11)"]
        );
        assert_eq!(
            violations(&inclusive, json!(0.5)),
            ["numeric instance is lower than the required minimum (minimum: 1, found: 0.5)"]
        );

        let exclusive = compile(json!({
            "minimum": 1, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": true
        }));
        assert_valid(&exclusive, json!(1.5));
        assert_eq!(
            violations(&exclusive, json!(1)),
            ["numeric instance is not strictly greater than the required minimum 1"]
        );
        assert_eq!(
            violations(&exclusive, json!(10.0)),
            ["numeric instance is not strictly lower than the required maximum 10"]
        );
    }

    #[test]
    fn multiple_of_is_decimal_exact() {
        let tenth = compile(json!({"multipleOf": 0.1}));
        assert_valid(&tenth, json!(0.3));
        assert_valid(&tenth, json!(19.9));
        assert_valid(&tenth, json!(7));
        assert_valid(&tenth, json!(1e40));
        assert_eq!(
            violations(&tenth, json!(0.35)),
            ["remainder of division is not zero (0.35 / 0.1)"]
        );

        let two = compile(json!({"multipleOf": 2}));
        assert_valid(&two, json!(-4));
        assert_valid(&two, json!(4.0));
        assert_eq!(
            violations(&two, json!(7)),
            ["remainder of division is not zero (7 / 2)"]
        );
        assert_valid(&compile(json!({"multipleOf": 0.01})), json!(19.99));
    }

    #[test]
    fn combinators_report_fge_summaries() {
        let all_of =
            compile(json!({"allOf": [{"type": "integer"}, {"minimum": 5}, {"maximum": 7}]}));
        assert_valid(&all_of, json!(6));
        assert_eq!(
            violations(&all_of, json!(2)),
            ["instance failed to match all required schemas (matched only 2 out of 3)"]
        );

        let any_of = compile(json!({"anyOf": [{"type": "string"}, {"minimum": 5}]}));
        assert_valid(&any_of, json!("s"));
        assert_valid(&any_of, json!(6));
        assert_eq!(
            violations(&any_of, json!(2)),
            ["instance failed to match at least one required schema among 2"]
        );

        let one_of = compile(json!({"oneOf": [{"type": "integer"}, {"minimum": 5}]}));
        assert_valid(&one_of, json!(2));
        assert_valid(&one_of, json!(5.5));
        assert_eq!(
            violations(&one_of, json!(6)),
            ["instance failed to match exactly one schema (matched 2 out of 2)"]
        );
        assert_eq!(
            violations(&one_of, json!(1.5)),
            ["instance failed to match exactly one schema (matched 0 out of 2)"]
        );
    }

    #[test]
    fn not_rejects_what_its_schema_accepts() {
        let schema = compile(json!({"not": {"type": "null"}}));
        assert_valid(&schema, json!(0));
        assert_eq!(
            violations(&schema, json!(null)),
            ["instance matched a schema which it should not have"]
        );
    }

    #[test]
    fn violations_come_in_fge_order() {
        let schema = compile(json!({
            "type": "object",
            "required": ["a"],
            "additionalProperties": false,
            "properties": {"b": {"type": "string"}, "c": {"enum": [1]}}
        }));
        assert_eq!(
            violations(&schema, json!({"c": 2, "b": 1, "z": 0})),
            [
                "object instance has properties which are not allowed by the schema: [\"z\"]",
                "object has missing required properties ([\"a\"])",
                "/b: instance type (integer) does not match any allowed primitive type (allowed: [\"string\"])",
                "/c: instance value (2) not found in enum (possible values: [1])",
            ]
        );
    }

    #[test]
    fn ref_to_definitions_and_to_pointers_inside_the_model() {
        let schema = compile(json!({
            "definitions": {"id": {"type": "integer"}, "a/b": {"minimum": 0}, "sp ace": {"maximum": 9}},
            "properties": {
                "id": {"$ref": "#/definitions/id"},
                "copy": {"$ref": "#/properties/id"},
                "escaped": {"$ref": "#/definitions/a~1b"},
                "encoded": {"$ref": "#/definitions/sp%20ace"},
                "list": {"items": {"type": "string"}},
                "element": {"$ref": "#/properties/list/items"}
            }
        }));
        assert_valid(
            &schema,
            json!({"id": 1, "copy": 2, "escaped": 0, "encoded": 9, "element": "e"}),
        );
        assert_eq!(
            violations(
                &schema,
                json!({"id": "x", "copy": 1.5, "escaped": -1, "encoded": 10, "element": 1})
            )
            .len(),
            5
        );
    }

    #[test]
    fn ref_siblings_are_ignored() {
        let schema = compile(json!({
            "definitions": {"s": {"type": "string"}},
            "properties": {"a": {"$ref": "#/definitions/s", "minLength": 10}}
        }));
        assert_valid(&schema, json!({"a": "short"}));
    }

    #[test]
    fn ref_to_another_model_by_api_gateway_url() {
        let models = Models::from([
            (
                "Order".to_owned(),
                json!({
                    "properties": {
                        "customer": {"$ref": format!("{URL}/Customer")},
                        "email": {"$ref": format!("{URL}/Customer#/definitions/email")}
                    }
                }),
            ),
            (
                "Customer".to_owned(),
                json!({
                    "required": ["name"],
                    "definitions": {"email": {"pattern": "@"}}
                }),
            ),
        ]);
        let schema = Schema::compile("Order", &models).expect("the model compiles");
        assert_valid(&schema, json!({"customer": {"name": "n"}, "email": "a@b"}));
        assert_eq!(
            violations(&schema, json!({"customer": {}, "email": "ab"})),
            [
                "/customer: object has missing required properties ([\"name\"])",
                "/email: ECMA 262 regex \"@\" does not match input string \"ab\"",
            ]
        );
    }

    #[test]
    fn recursive_model_validates_at_every_level() {
        let schema = compile(json!({
            "type": "object",
            "required": ["name"],
            "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}
        }));
        assert_valid(
            &schema,
            json!({"name": "root", "children": [{"name": "a", "children": [{"name": "b"}]}]}),
        );
        assert_eq!(
            violations(
                &schema,
                json!({"name": "root", "children": [{"name": "a", "children": [{}]}]})
            ),
            ["/children/0/children/0: object has missing required properties ([\"name\"])"]
        );
    }

    #[test]
    fn cyclic_refs_are_refused() {
        let models = Models::from([
            ("A".to_owned(), json!({"$ref": format!("{URL}/B")})),
            ("B".to_owned(), json!({"$ref": format!("{URL}/A")})),
        ]);
        let error = Schema::compile("A", &models).expect_err("a ref cycle is refused");
        assert!(error.0.starts_with("$ref cycle"), "{error}");

        let looping = compile_error(json!({"anyOf": [{"type": "string"}, {"$ref": "#"}]}));
        assert!(looping.starts_with("$ref cycle"), "{looping}");
        assert!(compile_error(json!({"$ref": "#"})).starts_with("$ref cycle"));
    }

    #[test]
    fn too_deep_instances_are_refused_without_recursion() {
        let schema = compile(json!({"items": {"$ref": "#"}}));
        let mut shallow = json!([]);
        for _ in 0..MAX_INSTANCE_DEPTH - 1 {
            shallow = Value::Array(vec![shallow]);
        }
        assert_valid(&schema, shallow.clone());
        let deep = Value::Array(vec![shallow]);
        assert_eq!(
            violations(&schema, deep),
            ["instance is nested too deeply (more than 128 levels)"]
        );
    }

    #[test]
    fn invalid_regexes_are_schema_errors() {
        let error = compile_error(json!({"properties": {"name": {"pattern": "["}}}));
        assert!(
            error.starts_with("pattern \"[\" is not a valid regular expression: "),
            "{error}"
        );
        assert!(
            error.ends_with("(model M, at #/properties/name)"),
            "{error}"
        );
        let error = compile_error(json!({"patternProperties": {"(": {}}}));
        assert!(
            error.starts_with("pattern \"(\" is not a valid regular expression"),
            "{error}"
        );
    }

    #[test]
    fn dangling_refs_are_schema_errors() {
        let error = compile_error(json!({"properties": {"a": {"$ref": "#/definitions/Missing"}}}));
        assert!(
            error.starts_with("$ref #/definitions/Missing names no model"),
            "{error}"
        );
        let other_model = compile_error(json!({"$ref": format!("{URL}/Nope")}));
        assert!(
            other_model.contains("this API has no model \"Nope\""),
            "{other_model}"
        );
        let foreign = compile_error(json!({"$ref": "http://json-schema.org/draft-04/schema#"}));
        assert!(foreign.contains("names no model"), "{foreign}");
    }

    #[test]
    fn keywords_of_the_wrong_type_are_schema_errors() {
        for (model, expected) in [
            (
                json!({"required": "x"}),
                "\"required\" must be an array of strings",
            ),
            (json!({"type": "text"}), "\"type\" must be a type name"),
            (
                json!({"minLength": -1}),
                "\"minLength\" must be a non-negative integer",
            ),
            (json!({"maximum": "9"}), "\"maximum\" must be a number"),
            (
                json!({"exclusiveMinimum": true}),
                "\"exclusiveMinimum\" needs \"minimum\"",
            ),
            (
                json!({"multipleOf": 0}),
                "\"multipleOf\" must be a number greater than 0",
            ),
            (
                json!({"properties": []}),
                "\"properties\" must be an object of schemas",
            ),
            (json!({"items": [1]}), "a schema must be a JSON object"),
            (json!({"$ref": 3}), "\"$ref\" must be a string"),
        ] {
            let error = compile_error(model);
            assert!(error.starts_with(expected), "{error}");
        }
    }

    #[test]
    fn missing_model_is_a_schema_error() {
        assert_eq!(
            Schema::compile("Nope", &Models::new()).expect_err("no such model"),
            SchemaError("model \"Nope\" is not defined".to_owned())
        );
    }

    #[test]
    fn schemas_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Schema>();
    }

    #[test]
    fn ignored_keywords_constrain_nothing() {
        let schema = compile(json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "id": "x", "title": "T", "description": "D", "default": 1, "format": "email"
        }));
        assert_valid(&schema, json!("not an email"));
    }
}
