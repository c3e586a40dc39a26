//! Where each mapping key and list item of a template is, so that errors and warnings found
//! after parsing can say `file:line:column`.

use std::collections::HashMap;

use crate::error::{Location, Warning};

/// Positions by the JSON pointer (RFC 6901) of the value a key or list item holds:
/// `/Resources/Fn/Properties/Runtime` is where the `Runtime:` key is written.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    file: String,
    by_pointer: HashMap<String, (usize, usize)>,
}

impl Positions {
    pub(crate) fn new(file: &str) -> Positions {
        Positions {
            file: file.to_string(),
            by_pointer: HashMap::new(),
        }
    }

    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// The position of the node at `path` (keys and list indexes from the root).
    pub(crate) fn get(&self, path: &[&str]) -> Option<Location> {
        let mut pointer = Pointer::default();
        for segment in path {
            pointer.push(segment);
        }
        self.at(pointer.as_str())
    }

    /// Where property `path` of resource `logical_id` is written, `path` named as errors name
    /// it (`Events.Get.Properties.Path`): its deepest written part under `Properties`, else as
    /// a resource attribute (`DependsOn`), else in `Globals.<section>` where it may come from,
    /// else the resource itself.
    pub(crate) fn property(
        &self,
        logical_id: &str,
        globals_section: Option<&str>,
        path: &str,
    ) -> Option<Location> {
        let segments: Vec<&str> = path.split('.').collect();
        let under = |base: &[&str]| {
            (1..=segments.len()).rev().find_map(|written| {
                let full: Vec<&str> = base.iter().chain(&segments[..written]).copied().collect();
                self.get(&full)
            })
        };
        under(&["Resources", logical_id, "Properties"])
            .or_else(|| under(&["Resources", logical_id]))
            .or_else(|| globals_section.and_then(|section| under(&["Globals", section])))
            .or_else(|| self.get(&["Resources", logical_id]))
    }

    fn at(&self, pointer: &str) -> Option<Location> {
        self.by_pointer
            .get(pointer)
            .map(|&(line, column)| self.location(line, column))
    }

    fn location(&self, line: usize, column: usize) -> Location {
        Location {
            file: self.file.clone(),
            line,
            column,
        }
    }
}

/// Builds `Positions` while a parser walks a document: the current pointer, the keys each open
/// mapping has seen, and a warning for each key a mapping repeats.
#[derive(Debug)]
pub(super) struct Recorder {
    positions: Positions,
    pointer: Pointer,
    warnings: Vec<Warning>,
}

impl Recorder {
    pub(super) fn new(file: &str) -> Recorder {
        Recorder {
            positions: Positions::new(file),
            pointer: Pointer::default(),
            warnings: Vec::new(),
        }
    }

    /// Enters the value of `key`, written at `line`:`column`. A key its mapping already has
    /// is kept with a warning: CloudFormation's parser uses the last value, and so does the
    /// caller, which overwrites the value.
    pub(super) fn enter_key(&mut self, key: &str, line: usize, column: usize, repeated: bool) {
        self.pointer.push(key);
        if repeated {
            let first_line = self
                .positions
                .at(self.pointer.as_str())
                .map_or(0, |first| first.line);
            self.forget_below();
            self.warnings.push(Warning {
                logical_id: None,
                message: format!(
                    "key {key} repeats the one on line {first_line}; the last value is used, \
                     as CloudFormation does"
                ),
                location: Some(self.positions.location(line, column)),
            });
        }
        self.record(line, column);
    }

    /// Enters list item `index`, which starts at `line`:`column`.
    pub(super) fn enter_item(&mut self, index: usize, line: usize, column: usize) {
        self.pointer.push(&index.to_string());
        self.record(line, column);
    }

    /// Leaves the key or item entered last.
    pub(super) fn leave(&mut self) {
        self.pointer.pop();
    }

    pub(super) fn finish(self) -> (Positions, Vec<Warning>) {
        (self.positions, self.warnings)
    }

    fn record(&mut self, line: usize, column: usize) {
        self.positions
            .by_pointer
            .insert(self.pointer.as_str().to_string(), (line, column));
    }

    /// Drops the positions inside a value that a repeated key replaces.
    fn forget_below(&mut self) {
        let prefix = format!("{}/", self.pointer.as_str());
        self.positions
            .by_pointer
            .retain(|pointer, _| !pointer.starts_with(&prefix));
    }
}

/// A JSON pointer built one segment at a time.
#[derive(Debug, Default)]
struct Pointer {
    text: String,
    starts: Vec<usize>,
}

impl Pointer {
    fn push(&mut self, segment: &str) {
        self.starts.push(self.text.len());
        self.text.push('/');
        self.text
            .push_str(&segment.replace('~', "~0").replace('/', "~1"));
    }

    fn pop(&mut self) {
        if let Some(start) = self.starts.pop() {
            self.text.truncate(start);
        }
    }

    fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_found_by_path_with_escaped_segments() {
        let mut recorder = Recorder::new("t.yaml");
        recorder.enter_key("Resources", 1, 1, false);
        recorder.enter_key("a/b~c", 2, 3, false);
        recorder.enter_item(0, 3, 5);
        recorder.leave();
        recorder.leave();
        recorder.leave();
        let (positions, warnings) = recorder.finish();
        assert!(warnings.is_empty());
        let item = positions.get(&["Resources", "a/b~c", "0"]).expect("item");
        assert_eq!((item.line, item.column), (3, 5));
        assert_eq!(item.to_string(), "t.yaml:3:5");
        assert!(positions.get(&["Resources", "a"]).is_none());
    }

    #[test]
    fn a_property_is_found_where_it_is_written_or_in_globals() {
        let mut recorder = Recorder::new("t.yaml");
        for (key, line) in [("Globals", 1), ("Function", 2), ("Runtime", 3)] {
            recorder.enter_key(key, line, 1, false);
        }
        for _ in 0..3 {
            recorder.leave();
        }
        for (key, line) in [
            ("Resources", 4),
            ("Fn", 5),
            ("Properties", 6),
            ("Events", 7),
        ] {
            recorder.enter_key(key, line, 1, false);
        }
        let (positions, _) = recorder.finish();
        let line = |path: &str| {
            positions
                .property("Fn", Some("Function"), path)
                .map(|l| l.line)
        };
        assert_eq!(line("Events.Get.Properties.Path"), Some(7));
        assert_eq!(line("Runtime"), Some(3));
        assert_eq!(line("Handler"), Some(5));
        assert_eq!(positions.property("Other", None, "Handler"), None);
    }

    #[test]
    fn a_repeated_key_warns_at_its_own_line_and_forgets_the_replaced_value() {
        let mut recorder = Recorder::new("t.yaml");
        recorder.enter_key("A", 1, 1, false);
        recorder.enter_key("Inner", 2, 3, false);
        recorder.leave();
        recorder.leave();
        recorder.enter_key("A", 4, 1, true);
        recorder.leave();
        let (positions, warnings) = recorder.finish();
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].to_string(),
            "t.yaml:4:1: key A repeats the one on line 1; the last value is used, as \
             CloudFormation does"
        );
        assert_eq!(positions.get(&["A"]).map(|l| l.line), Some(4));
        assert!(positions.get(&["A", "Inner"]).is_none());
    }
}
