//! Finding the template: an explicit path first, then `template.yaml|yml|json` in the
//! starting directory and each of its parents (the project root).

use std::path::{Path, PathBuf};

use crate::TemplateError;

const TEMPLATE_NAMES: [&str; 3] = ["template.yaml", "template.yml", "template.json"];

/// `explicit` comes from `--template` or `ESB_TEMPLATE`; a directory there means the
/// template inside it.
pub fn discover(explicit: Option<&Path>, start_dir: &Path) -> Result<PathBuf, TemplateError> {
    if let Some(path) = explicit {
        let path = if path.is_absolute() {
            path.to_owned()
        } else {
            start_dir.join(path)
        };
        if path.is_dir() {
            return template_in(&path).ok_or(TemplateError::NotFound { searched: path });
        }
        if !path.exists() {
            return Err(TemplateError::Read {
                error: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                path,
            });
        }
        return Ok(path);
    }
    start_dir
        .ancestors()
        .find_map(template_in)
        .ok_or_else(|| TemplateError::NotFound {
            searched: start_dir.to_owned(),
        })
}

fn template_in(dir: &Path) -> Option<PathBuf> {
    TEMPLATE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("esb-discover-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).expect("mkdir");
        dir
    }

    #[test]
    fn finds_template_in_a_parent_directory() {
        let dir = temp_dir("parent");
        std::fs::write(dir.join("template.yml"), "Resources: {}").expect("write");
        let found = discover(None, &dir.join("a/b")).expect("found");
        assert_eq!(found, dir.join("template.yml"));
    }

    #[test]
    fn explicit_path_wins_and_a_missing_one_is_an_error() {
        let dir = temp_dir("explicit");
        std::fs::write(dir.join("template.yaml"), "Resources: {}").expect("write");
        std::fs::write(dir.join("a/other.yaml"), "Resources: {}").expect("write");
        let found = discover(Some(Path::new("a/other.yaml")), &dir).expect("found");
        assert_eq!(found, dir.join("a/other.yaml"));
        assert!(discover(Some(Path::new("missing.yaml")), &dir).is_err());
        let found = discover(Some(Path::new("a")), &dir);
        assert!(
            found.is_err(),
            "a directory without a template is not found"
        );
    }
}
