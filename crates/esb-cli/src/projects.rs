//! The projects this user worked on with `esb project use`, and the current one, which commands
//! run outside any project directory work on. Kept in `projects.toml` in the user's esb home
//! (`ESB_HOME`, default `~/.esb`): it is the user's choice, not the project's, so it lives with
//! the other per-user state rather than in a project's files.

use std::path::{Path, PathBuf};

use esb_build::BuildError;
use serde::{Deserialize, Serialize};

pub const PROJECTS_FILE: &str = "projects.toml";

const HEADER: &str = "# Projects esb knows (`esb project use DIR`); commands run outside any project\n\
# directory work on `current`. Written by esb.\n";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Projects {
    /// The project directory used when no template is given or found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current: Option<PathBuf>,
    /// Every project directory recorded, in the order first used.
    #[serde(default)]
    known: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProjectsError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is not a valid projects file: {message}")]
    #[diagnostic(help("fix or delete it; `esb project use DIR` writes a new one"))]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("no template.yaml (or .yml, .json) in {} or a parent directory, and no current project", searched.display())]
    #[diagnostic(
        code(esb::template::not_found),
        help(
            "pass --template FILE, set ESB_TEMPLATE, run inside a project, or `esb project use DIR` to work on one from anywhere"
        )
    )]
    NoTemplate { searched: PathBuf },
    #[error("no template here, and the current project {} no longer exists", dir.display())]
    #[diagnostic(help("`esb project use DIR` picks another; `esb project ls` lists them"))]
    CurrentGone { dir: PathBuf },
    #[error("no template here, and the current project {} has none: {error}", dir.display())]
    #[diagnostic(help("`esb project use DIR` picks another; `esb project ls` lists them"))]
    CurrentWithoutTemplate {
        dir: PathBuf,
        error: Box<BuildError>,
    },
}

impl Projects {
    /// Reads the projects file in `home`; a missing file is no projects.
    pub fn load(home: &Path) -> Result<Projects, ProjectsError> {
        let path = home.join(PROJECTS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ProjectsError::Parse {
                path,
                message: e.to_string(),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Projects::default()),
            Err(error) => Err(ProjectsError::Read { path, error }),
        }
    }

    /// Writes the projects file in `home` (through a temporary file, so it is never half
    /// written).
    pub fn save(&self, home: &Path) -> Result<PathBuf, ProjectsError> {
        let path = home.join(PROJECTS_FILE);
        let write_error = |message: String| ProjectsError::Write {
            path: path.clone(),
            message,
        };
        let body = toml::to_string(self).map_err(|e| write_error(e.to_string()))?;
        let tmp = path.with_extension("toml.tmp");
        std::fs::create_dir_all(home)
            .and_then(|()| std::fs::write(&tmp, format!("{HEADER}{body}")))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| write_error(e.to_string()))?;
        Ok(path)
    }

    /// Records `dir` (absolute) if it is new and makes it the current project.
    pub fn use_dir(&mut self, dir: PathBuf) {
        if !self.known.contains(&dir) {
            self.known.push(dir.clone());
        }
        self.current = Some(dir);
    }

    pub fn current(&self) -> Option<&Path> {
        self.current.as_deref()
    }

    /// The current project's directory and template, for a command that found no template
    /// from where it runs (`searched`).
    pub fn current_template(&self, searched: &Path) -> Result<(&Path, PathBuf), ProjectsError> {
        let Some(dir) = self.current() else {
            return Err(ProjectsError::NoTemplate {
                searched: searched.to_owned(),
            });
        };
        if !dir.is_dir() {
            return Err(ProjectsError::CurrentGone {
                dir: dir.to_owned(),
            });
        }
        let template = esb_build::project_template(dir).map_err(|error| {
            ProjectsError::CurrentWithoutTemplate {
                dir: dir.to_owned(),
                error: Box::new(error),
            }
        })?;
        Ok((dir, template))
    }

    pub fn known(&self) -> &[PathBuf] {
        &self.known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_records_a_directory_once_and_makes_it_current() {
        let home = tempfile::tempdir().expect("tempdir");
        let mut projects = Projects::load(home.path()).expect("no file yet");
        assert_eq!(projects, Projects::default());
        projects.use_dir("/work/a".into());
        projects.use_dir("/work/b".into());
        projects.use_dir("/work/a".into());
        assert_eq!(projects.current(), Some(Path::new("/work/a")));
        assert_eq!(
            projects.known(),
            [PathBuf::from("/work/a"), PathBuf::from("/work/b")]
        );
        projects.save(home.path()).expect("save");
        assert_eq!(Projects::load(home.path()).expect("reload"), projects);
    }

    #[test]
    fn the_current_template_is_the_current_directorys_own() {
        let project = tempfile::tempdir().expect("tempdir");
        let mut projects = Projects::default();
        let error = projects.current_template(project.path()).expect_err("none");
        assert!(matches!(error, ProjectsError::NoTemplate { .. }), "{error}");
        projects.use_dir(project.path().join("gone"));
        let error = projects.current_template(project.path()).expect_err("gone");
        assert!(error.to_string().contains("no longer exists"), "{error}");
        projects.use_dir(project.path().to_owned());
        let error = projects
            .current_template(project.path())
            .expect_err("empty");
        assert!(error.to_string().contains("has none"), "{error}");
        std::fs::write(project.path().join("template.yaml"), "Resources: {}\n").expect("write");
        let (dir, template) = projects.current_template(Path::new("/")).expect("found");
        assert_eq!(dir, project.path());
        assert_eq!(template, project.path().join("template.yaml"));
    }

    #[test]
    fn a_broken_file_is_named() {
        let home = tempfile::tempdir().expect("tempdir");
        std::fs::write(home.path().join(PROJECTS_FILE), "curent = 1\n").expect("write");
        let error = Projects::load(home.path()).expect_err("unknown key");
        assert!(error.to_string().contains(PROJECTS_FILE), "{error}");
    }
}
