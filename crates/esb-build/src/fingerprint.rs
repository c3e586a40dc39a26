//! Incremental builds: a sha256 over everything that shapes a function's (or a staged layer's)
//! output, stored beside that output; an equal fingerprint means the output is up to date.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::code::SourceTree;
use crate::layout::FINGERPRINT_FILE;

/// Bumped when the build's output format changes, so older outputs are rebuilt.
const FORMAT: &str = "esb-build/2";

/// Feeds labelled, length-prefixed fields into sha256, so no two inputs collide by
/// concatenation.
#[derive(Debug, Clone)]
pub struct Fingerprint(Sha256);

impl Default for Fingerprint {
    fn default() -> Self {
        let mut fingerprint = Fingerprint(Sha256::new());
        fingerprint.field("format", FORMAT.as_bytes());
        fingerprint
    }
}

impl Fingerprint {
    pub fn field(&mut self, label: &str, bytes: &[u8]) -> &mut Self {
        for part in [label.as_bytes(), bytes] {
            self.0.update((part.len() as u64).to_le_bytes());
            self.0.update(part);
        }
        self
    }

    /// Every file's path, mode and content.
    pub fn tree(&mut self, tree: &SourceTree) -> &mut Self {
        self.field("files", &(tree.files.len() as u64).to_le_bytes());
        for file in &tree.files {
            self.field(&file.path, &file.mode.to_le_bytes())
                .field("content", &file.bytes);
        }
        self
    }

    pub fn finish(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// True when `dir` holds a build whose recorded fingerprint is `expected`.
pub fn is_current(dir: &Path, expected: &str) -> bool {
    std::fs::read_to_string(dir.join(FINGERPRINT_FILE)).is_ok_and(|found| found == expected)
}

/// Records `value` as the fingerprint of the build in `dir`.
pub fn record(dir: &Path, value: &str) -> std::io::Result<()> {
    std::fs::write(dir.join(FINGERPRINT_FILE), value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::SourceFile;

    fn tree(content: &str) -> SourceTree {
        SourceTree {
            files: vec![SourceFile {
                path: "app.py".into(),
                bytes: content.as_bytes().to_vec(),
                mode: 0o644,
            }],
            ..SourceTree::default()
        }
    }

    fn digest(tree: &SourceTree) -> String {
        let mut fingerprint = Fingerprint::default();
        fingerprint.tree(tree);
        fingerprint.finish()
    }

    #[test]
    fn content_changes_change_the_fingerprint_and_equal_inputs_do_not() {
        assert_eq!(digest(&tree("a")), digest(&tree("a")));
        assert_ne!(digest(&tree("a")), digest(&tree("b")));
        let mut moved = tree("a");
        moved.files[0].path = "other.py".into();
        assert_ne!(digest(&tree("a")), digest(&moved));
        let mut private = tree("a");
        private.files[0].mode = 0o600;
        assert_ne!(digest(&tree("a")), digest(&private));
        assert_eq!(digest(&tree("a")).len(), 64);
    }

    #[test]
    fn fields_are_not_ambiguous_by_concatenation() {
        let mut one = Fingerprint::default();
        one.field("a", b"bc");
        let mut two = Fingerprint::default();
        two.field("ab", b"c");
        assert_ne!(one.finish(), two.finish());
    }

    #[test]
    fn recorded_fingerprints_are_current() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!is_current(dir.path(), "abc"));
        record(dir.path(), "abc").expect("record");
        assert!(is_current(dir.path(), "abc"));
        assert!(!is_current(dir.path(), "abd"));
    }
}
