//! Environments in `generator.yml` (`esb env`): named sets of template parameter values, ports
//! and a worker mode, of which one may be active (`app.last_env`, the original ESB's key).
//!
//! The original ESB wrote `environments` as a mapping of name to mode (`dev: docker`) and,
//! before that, as a list of names or `{name, mode}` entries; both still read. An entry may
//! also be a mapping of this box's settings, which is how it is written back.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::generator::ParameterValue;

/// The longest environment name: names may become container and compose project names.
const MAX_NAME_LEN: usize = 32;

/// One environment's settings; each one unset falls back to the project's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Where workers run (`process`); the original ESB's `docker` and `containerd` still read,
    /// and `esb up` says they are not built yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Template parameter values over `generator.yml`'s `parameters`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, ParameterValue>,
    #[serde(default, skip_serializing_if = "Ports::is_empty")]
    pub ports: Ports,
}

/// The ports `esb up` listens on in this environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ports {
    /// The gateway and the Lambda Invoke API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<u16>,
    /// The embedded S3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<u16>,
    /// The embedded DynamoDB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamodb: Option<u16>,
}

impl Ports {
    pub fn is_empty(&self) -> bool {
        self.gateway.is_none() && self.s3.is_none() && self.dynamodb.is_none()
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EnvironmentError {
    #[error("{name:?} is not a valid environment name: {reason}")]
    #[diagnostic(
        code(esb::env::name),
        help(
            "use up to 32 lower-case letters, digits, - and _, starting with a letter (e.g. dev, staging-2)"
        )
    )]
    InvalidName { name: String, reason: &'static str },

    #[error("generator.yml: app.last_env is {name}, but environments has no {name}")]
    #[diagnostic(
        code(esb::env::unknown),
        help(
            "`esb env use NAME` makes another one active ({known}), or `esb env add {name}` adds it"
        )
    )]
    UnknownActive { name: String, known: String },
}

/// Checks a new environment's name: a letter, then letters, digits, `-` or `_`, all lower-case.
pub fn validate_name(name: &str) -> Result<(), EnvironmentError> {
    let invalid = |reason| EnvironmentError::InvalidName {
        name: name.to_string(),
        reason,
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(invalid("it is empty")),
        Some(first) if !first.is_ascii_lowercase() => {
            return Err(invalid("it must start with a lower-case letter"));
        }
        Some(_) => {}
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid("it is longer than 32 characters"));
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err(invalid("it may hold only a-z, 0-9, - and _"));
    }
    Ok(())
}

/// `environments:` in any of the forms the original ESB wrote, or this box's mapping.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, Environment>, D::Error> {
    deserializer.deserialize_any(EnvironmentsVisitor)
}

struct EnvironmentsVisitor;

impl<'de> Visitor<'de> for EnvironmentsVisitor {
    type Value = IndexMap<String, Environment>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of environment names to a mode or to settings")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(IndexMap::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut environments = IndexMap::new();
        while let Some((name, Entry(environment))) = map.next_entry::<String, Entry>()? {
            insert_once(&mut environments, name, environment)?;
        }
        Ok(environments)
    }

    /// The original ESB's older form: `- dev` or `- {name: dev, mode: docker}`.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut environments = IndexMap::new();
        while let Some(Listed { name, mode }) = seq.next_element::<Listed>()? {
            let environment = Environment {
                mode,
                ..Environment::default()
            };
            insert_once(&mut environments, name, environment)?;
        }
        Ok(environments)
    }
}

fn insert_once<E: de::Error>(
    environments: &mut IndexMap<String, Environment>,
    name: String,
    environment: Environment,
) -> Result<(), E> {
    if environments.contains_key(&name) {
        return Err(E::custom(format!("environment {name} is defined twice")));
    }
    environments.insert(name, environment);
    Ok(())
}

/// One mapping entry's value: a mode (`dev: docker`), nothing (`dev:`) or settings.
struct Entry(Environment);

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entry, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mode (process) or a mapping of mode, parameters and ports")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Entry, E> {
        Ok(Entry(Environment::default()))
    }

    fn visit_str<E: de::Error>(self, mode: &str) -> Result<Entry, E> {
        Ok(Entry(Environment {
            mode: Some(mode.trim().to_string()),
            ..Environment::default()
        }))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
        // The derived deserializer, so unknown keys are named as everywhere else.
        Environment::deserialize(de::value::MapAccessDeserializer::new(map)).map(Entry)
    }
}

/// One item of the original ESB's list form.
struct Listed {
    name: String,
    mode: Option<String>,
}

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Listed, D::Error> {
        deserializer.deserialize_any(ListedVisitor)
    }
}

struct ListedVisitor;

impl<'de> Visitor<'de> for ListedVisitor {
    type Value = Listed;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an environment name or {name, mode}")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Listed, E> {
        Ok(Listed {
            name: name.trim().to_string(),
            mode: None,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Listed, A::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct NameAndMode {
            name: String,
            #[serde(default)]
            mode: Option<String>,
        }
        let entry = NameAndMode::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Listed {
            name: entry.name.trim().to_string(),
            mode: entry.mode.map(|mode| mode.trim().to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        #[serde(deserialize_with = "deserialize")]
        environments: IndexMap<String, Environment>,
    }

    fn parse(text: &str) -> Result<IndexMap<String, Environment>, serde_yaml::Error> {
        serde_yaml::from_str::<File>(text).map(|file| file.environments)
    }

    #[test]
    fn names_are_lower_case_words() {
        for good in ["dev", "staging-2", "a_b", &"x".repeat(32)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("Dev", "start with"),
            ("2dev", "start with"),
            ("dev!", "only a-z"),
            ("dev prod", "only a-z"),
            (&"x".repeat(33), "longer"),
        ] {
            let error = validate_name(bad).expect_err(bad).to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn the_original_mapping_of_name_to_mode_reads() {
        let environments =
            parse("environments:\n  local: docker\n  edge: containerd\n  bare:\n").expect("parses");
        assert_eq!(
            environments.keys().collect::<Vec<_>>(),
            ["local", "edge", "bare"]
        );
        assert_eq!(environments["local"].mode.as_deref(), Some("docker"));
        assert_eq!(environments["bare"], Environment::default());
    }

    #[test]
    fn the_original_list_form_reads() {
        let environments =
            parse("environments:\n  - local\n  - name: dev\n    mode: containerd\n").expect("list");
        assert_eq!(environments["local"].mode, None);
        assert_eq!(environments["dev"].mode.as_deref(), Some("containerd"));
        let error = parse("environments: [dev, dev]\n").expect_err("twice");
        assert!(
            error.to_string().contains("dev is defined twice"),
            "{error}"
        );
    }

    #[test]
    fn settings_read_and_write_back_the_same() {
        let text = "environments:\n  staging:\n    mode: process\n    parameters:\n      Stage: prod\n    ports:\n      gateway: 9443\n      s3: 9100\n";
        let environments = parse(text).expect("settings");
        let staging = &environments["staging"];
        assert_eq!(staging.ports.gateway, Some(9443));
        assert_eq!(staging.ports.dynamodb, None);
        assert_eq!(
            staging.parameters["Stage"],
            ParameterValue::Text("prod".into())
        );
        let written = serde_yaml::to_string(&environments).expect("writes");
        let reread = parse(&format!(
            "environments:\n{}",
            written
                .lines()
                .map(|line| format!("  {line}\n"))
                .collect::<String>()
        ))
        .expect("reads back");
        assert_eq!(reread, environments);
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = parse("environments:\n  dev:\n    paramters: {}\n").expect_err("typo");
        assert!(error.to_string().contains("paramters"), "{error}");
        let error = parse("environments:\n  dev:\n    ports: {http: 1}\n").expect_err("typo");
        assert!(error.to_string().contains("http"), "{error}");
    }
}
