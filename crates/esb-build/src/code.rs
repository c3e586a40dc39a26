//! Function and layer code: read once into memory from a directory, a `.zip` archive or
//! `InlineCode`, then hashed (see `fingerprint`) and written out from the same bytes, each file
//! with its permission bits.
//!
//! A directory is copied whole except `.esb`, `.aws-sam`, `.git`, `__pycache__`, the output
//! directory itself, `node_modules` when a `package.json` beside it will have npm
//! recreate it, and the top-level directories a build method names (cargo's `target`).
//!
//! Only the project (the template's directory) is read: a `CodeUri`/`ContentUri` outside it,
//! a symlink in the code that resolves outside it, and a dangling symlink are refused unless
//! outside links are allowed (a dangling one is then left out, with a warning). A directory
//! link that leads back to one of its ancestors is always refused.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::BuildError;
use crate::layout::Layout;

/// Directory names never copied into a build.
const SKIPPED_DIRS: [&str; 4] = [".esb", ".aws-sam", ".git", "__pycache__"];

/// The mode of a file that records none: inline code, a zip entry without unix permissions.
const DEFAULT_MODE: u32 = 0o644;

/// The bits of a mode that are kept: read, write and execute for user, group and others.
/// Setuid, setgid and sticky bits are dropped: code has no use for them, and a setuid copy
/// of a binary is a hazard.
const PERMISSION_BITS: u32 = 0o777;

/// One file of a source tree: its `/`-separated path inside the tree, its content and its
/// permission bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub bytes: Vec<u8>,
    pub mode: u32,
}

/// Files sorted by path, plus the directory they came from (for tools that resolve relative
/// paths, like `pip -r requirements.txt` with `./localpkg`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceTree {
    pub files: Vec<SourceFile>,
    pub origin_dir: Option<PathBuf>,
    /// What was left out of `files` and why (dangling links, when outside links are allowed),
    /// for the build report.
    pub warnings: Vec<String>,
}

/// What a `CodeUri`/`ContentUri` belongs to, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub logical_id: &'a str,
    pub property: &'static str,
}

/// Reads `CodeUri`/`ContentUri` for one build: relative to the project directory, never the
/// output directory, and nothing outside the project unless outside links are allowed.
#[derive(Debug, Clone)]
pub struct CodeReader {
    /// Canonical, so that paths resolved with `canonicalize` compare with it.
    project_dir: PathBuf,
    /// Never copied, even when it lies inside a code directory.
    output_dir: PathBuf,
    allow_outside_links: bool,
}

impl CodeReader {
    pub fn new(layout: &Layout, allow_outside_links: bool) -> Result<CodeReader, BuildError> {
        let project_dir = layout
            .project_dir
            .canonicalize()
            .map_err(BuildError::io("read", &layout.project_dir))?;
        // Before the first build the output directory does not exist: nothing to leave out.
        let output_dir = layout
            .output_dir
            .canonicalize()
            .unwrap_or_else(|_| layout.output_dir.clone());
        Ok(CodeReader {
            project_dir,
            output_dir,
            allow_outside_links,
        })
    }

    /// Loads a local directory or `.zip` (relative to the project directory); `skipped_top`
    /// names top-level directories left out.
    pub fn load_uri(
        &self,
        owner: Owner<'_>,
        uri: &str,
        skipped_top: &[&str],
    ) -> Result<SourceTree, BuildError> {
        if uri.starts_with("s3://") {
            return Err(BuildError::S3Uri {
                logical_id: owner.logical_id.to_string(),
                property: owner.property,
                uri: uri.to_string(),
            });
        }
        let path = self.project_dir.join(uri);
        let resolved = path.canonicalize().map_err(|_| BuildError::MissingCode {
            logical_id: owner.logical_id.to_string(),
            property: owner.property,
            path: path.clone(),
        })?;
        if !self.allows(&resolved) {
            return Err(BuildError::OutsideCode {
                logical_id: owner.logical_id.to_string(),
                property: owner.property,
                uri: uri.to_string(),
                resolved,
            });
        }
        if resolved.is_dir() {
            self.load_dir(owner, &resolved, skipped_top)
        } else if path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("zip"))
        {
            let bytes = std::fs::read(&resolved).map_err(BuildError::io("read", &resolved))?;
            load_zip(&path, &bytes)
        } else {
            Err(BuildError::NotZip {
                logical_id: owner.logical_id.to_string(),
                property: owner.property,
                path,
            })
        }
    }

    /// Reads `root` (canonical). Links are followed: the build holds what they point to, as
    /// regular files and directories, so no link in it can point anywhere once the build is
    /// moved or mounted in a container; and following lets walkdir notice a directory link
    /// that leads back to an ancestor instead of descending into it forever.
    fn load_dir(
        &self,
        owner: Owner<'_>,
        root: &Path,
        skipped_top: &[&str],
    ) -> Result<SourceTree, BuildError> {
        let skip_node_modules = root.join("package.json").is_file();
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .min_depth(1)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| {
                let name = entry.file_name().to_string_lossy();
                let top = entry.depth() == 1;
                let skipped_name = entry.file_type().is_dir()
                    && (SKIPPED_DIRS.contains(&name.as_ref())
                        || (top && skipped_top.contains(&name.as_ref()))
                        || (skip_node_modules && top && name == "node_modules"));
                !skipped_name && entry.path() != self.output_dir
            });
        let mut tree = SourceTree {
            origin_dir: Some(root.to_owned()),
            ..SourceTree::default()
        };
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    tree.warnings.push(self.walk_error(owner, root, error)?);
                    continue;
                }
            };
            if entry.path_is_symlink() {
                self.check_link(owner, entry.path())?;
            }
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path();
            let bytes = std::fs::read(path).map_err(BuildError::io("read", path))?;
            let relative = path.strip_prefix(root).unwrap_or(path);
            tree.files.push(SourceFile {
                path: slash_path(relative),
                bytes,
                mode: file_mode(&entry)?,
            });
        }
        Ok(tree)
    }

    /// A link is copied as what it points to, so that must be inside the project too.
    fn check_link(&self, owner: Owner<'_>, link: &Path) -> Result<(), BuildError> {
        if self.allow_outside_links {
            return Ok(());
        }
        let target = link
            .canonicalize()
            .map_err(BuildError::io("resolve", link))?;
        if self.allows(&target) {
            return Ok(());
        }
        Err(BuildError::OutsideLink {
            logical_id: owner.logical_id.to_string(),
            link: self.shown(link),
            target,
        })
    }

    /// What an error of the walk means: a link loop is refused; a link that resolves to
    /// nothing is refused too, or left out (the returned warning) when outside links are
    /// allowed; anything else is an I/O error.
    fn walk_error(
        &self,
        owner: Owner<'_>,
        root: &Path,
        error: walkdir::Error,
    ) -> Result<String, BuildError> {
        let path = error.path().unwrap_or(root).to_owned();
        if let Some(ancestor) = error.loop_ancestor() {
            return Err(BuildError::LinkLoop {
                logical_id: owner.logical_id.to_string(),
                link: self.shown(&path),
                ancestor: self.shown(ancestor),
            });
        }
        let (Ok(target), Err(reason)) = (std::fs::read_link(&path), std::fs::metadata(&path))
        else {
            return Err(BuildError::Io {
                action: "read",
                path,
                error: error.into(),
            });
        };
        let broken = BuildError::BrokenLink {
            logical_id: owner.logical_id.to_string(),
            link: self.shown(&path),
            target,
            error: reason,
        };
        if self.allow_outside_links {
            Ok(format!("{broken}; it is left out of the build"))
        } else {
            Err(broken)
        }
    }

    fn allows(&self, resolved: &Path) -> bool {
        self.allow_outside_links || resolved.starts_with(&self.project_dir)
    }

    /// `path` as messages show it: relative to the project directory when inside it.
    fn shown(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.project_dir)
            .unwrap_or(path)
            .to_owned()
    }
}

impl SourceTree {
    pub fn contains(&self, path: &str) -> bool {
        self.files.iter().any(|file| file.path == path)
    }

    /// `InlineCode` as AWS stores it: `index.py` for python runtimes, `index.js` for node.
    pub fn inline(logical_id: &str, runtime: &str, code: &str) -> Result<SourceTree, BuildError> {
        let file_name = if runtime.starts_with("python") {
            "index.py"
        } else if runtime.starts_with("nodejs") {
            "index.js"
        } else {
            return Err(BuildError::InlineRuntime {
                logical_id: logical_id.to_string(),
                runtime: runtime.to_string(),
            });
        };
        Ok(SourceTree {
            files: vec![SourceFile {
                path: file_name.to_string(),
                bytes: code.as_bytes().to_vec(),
                mode: DEFAULT_MODE,
            }],
            ..SourceTree::default()
        })
    }

    /// Writes every file under `dest` (which need not exist), each with its mode.
    pub fn write_to(&self, dest: &Path) -> Result<(), BuildError> {
        let mut created: HashSet<PathBuf> = HashSet::new();
        for file in &self.files {
            let target = dest.join(&file.path);
            if let Some(parent) = target.parent()
                && !created.contains(parent)
            {
                std::fs::create_dir_all(parent).map_err(BuildError::io("create", parent))?;
                created.insert(parent.to_owned());
            }
            write_file(&target, &file.bytes, file.mode)?;
        }
        Ok(())
    }
}

/// Extracts a zip archive in memory, rejecting entries that would land outside the root.
pub(crate) fn load_zip(path: &Path, bytes: &[u8]) -> Result<SourceTree, BuildError> {
    let zip_err = |error| BuildError::Zip {
        path: path.to_owned(),
        error,
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(zip_err)?;
    let mut files = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(zip_err)?;
        let Some(relative) = entry.enclosed_name() else {
            return Err(BuildError::ZipSlip {
                path: path.to_owned(),
                entry: entry.name().to_string(),
            });
        };
        if entry.is_dir() {
            continue;
        }
        let mut content = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry
            .read_to_end(&mut content)
            .map_err(BuildError::io("extract", path.join(&relative)))?;
        files.push(SourceFile {
            path: slash_path(&relative),
            bytes: content,
            mode: entry
                .unix_mode()
                .map_or(DEFAULT_MODE, |mode| mode & PERMISSION_BITS),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|later, earlier| later.path == earlier.path);
    Ok(SourceTree {
        files,
        ..SourceTree::default()
    })
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The permission bits of a walked file (of what it points to, for a link).
#[cfg(unix)]
fn file_mode(entry: &walkdir::DirEntry) -> Result<u32, BuildError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = entry.metadata().map_err(|error| BuildError::Io {
        action: "read",
        path: entry.path().to_owned(),
        error: error.into(),
    })?;
    Ok(metadata.permissions().mode() & PERMISSION_BITS)
}

#[cfg(not(unix))]
fn file_mode(_entry: &walkdir::DirEntry) -> Result<u32, BuildError> {
    Ok(DEFAULT_MODE)
}

/// Creates `path` with `mode` from the start, so a private file is never readable by others
/// even for a moment, then sets `mode` exactly, as the umask may have narrowed it.
#[cfg(unix)]
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), BuildError> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(BuildError::io("write", path))?;
    file.write_all(bytes)
        .map_err(BuildError::io("write", path))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(BuildError::io("set permissions of", path))
}

#[cfg(not(unix))]
fn write_file(path: &Path, bytes: &[u8], _mode: u32) -> Result<(), BuildError> {
    std::fs::write(path, bytes).map_err(BuildError::io("write", path))
}

#[cfg(unix)]
pub(crate) fn set_executable(path: &Path) -> Result<(), BuildError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(BuildError::io("set permissions of", path))
}

#[cfg(not(unix))]
pub(crate) fn set_executable(_path: &Path) -> Result<(), BuildError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::zip_bytes;

    fn owner() -> Owner<'static> {
        Owner {
            logical_id: "Fn",
            property: "CodeUri",
        }
    }

    /// A reader for the project `dir`, whose build goes to `dir/.esb`.
    fn reader(dir: &Path, allow_outside_links: bool) -> CodeReader {
        let layout = Layout::new(dir.to_owned(), dir.join(".esb"));
        CodeReader::new(&layout, allow_outside_links).expect("reader")
    }

    fn put(path: &Path, content: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }

    fn paths(tree: &SourceTree) -> Vec<&str> {
        tree.files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn a_directory_is_read_without_skipped_dirs_and_the_output_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for file in [
            "app.py",
            "pkg/mod.py",
            ".git/HEAD",
            "__pycache__/x.pyc",
            ".esb/skip",
        ] {
            put(&root.join(file), file);
        }
        let tree = reader(root, false)
            .load_uri(owner(), ".", &[])
            .expect("load");
        assert_eq!(paths(&tree), ["app.py", "pkg/mod.py"]);
    }

    #[test]
    fn named_top_level_dirs_are_skipped_but_not_deeper_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in ["Cargo.toml", "target/release/app", "src/target/x.rs"] {
            put(&dir.path().join(file), file);
        }
        let tree = reader(dir.path(), false)
            .load_uri(owner(), ".", &["target"])
            .expect("load");
        assert_eq!(paths(&tree), ["Cargo.toml", "src/target/x.rs"]);
    }

    #[test]
    fn node_modules_is_skipped_only_beside_package_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        put(&dir.path().join("node_modules/x/i.js"), "");
        let reader = reader(dir.path(), false);
        let tree = reader.load_uri(owner(), ".", &[]).expect("load");
        assert!(tree.contains("node_modules/x/i.js"));
        put(&dir.path().join("package.json"), "{}");
        let tree = reader.load_uri(owner(), ".", &[]).expect("load");
        assert!(!tree.contains("node_modules/x/i.js"));
    }

    #[test]
    fn zip_archives_are_extracted_and_zip_slip_is_rejected() {
        let path = Path::new("code.zip");
        let tree = load_zip(path, &zip_bytes(&[("b/app.py", "x"), ("a.txt", "y")])).expect("zip");
        assert_eq!(paths(&tree), ["a.txt", "b/app.py"]);

        let err = load_zip(path, &zip_bytes(&[("../../evil.py", "x")])).expect_err("slip");
        assert!(matches!(err, BuildError::ZipSlip { .. }), "{err}");
        assert!(err.to_string().contains("../../evil.py"), "{err}");
        let err = load_zip(path, &zip_bytes(&[("/etc/passwd", "x")])).expect_err("absolute");
        assert!(matches!(err, BuildError::ZipSlip { .. }), "{err}");
        let err = load_zip(path, b"not a zip").expect_err("garbage");
        assert!(matches!(err, BuildError::Zip { .. }), "{err}");
    }

    #[test]
    fn zip_entries_keep_their_recorded_mode() {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for (name, mode) in [("key.pem", 0o600), ("bootstrap", 0o755)] {
            writer
                .start_file(name, options.unix_permissions(mode))
                .expect("start");
        }
        let bytes = writer.finish().expect("finish").into_inner();
        let tree = load_zip(Path::new("code.zip"), &bytes).expect("zip");
        let modes: Vec<(&str, u32)> = tree
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.mode))
            .collect();
        assert_eq!(modes, [("bootstrap", 0o755), ("key.pem", 0o600)]);
    }

    #[test]
    fn s3_missing_and_non_zip_uris_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let reader = reader(dir.path(), false);
        let err = reader
            .load_uri(owner(), "s3://bucket/code.zip", &[])
            .expect_err("s3");
        let text = err.to_string();
        assert!(
            text.contains("Fn") && text.contains("CodeUri s3://bucket/code.zip"),
            "{text}"
        );
        let err = reader
            .load_uri(owner(), "missing/", &[])
            .expect_err("missing");
        assert!(matches!(err, BuildError::MissingCode { .. }), "{err}");
        put(&dir.path().join("code.tar"), "x");
        let err = reader
            .load_uri(owner(), "code.tar", &[])
            .expect_err("not zip");
        assert!(matches!(err, BuildError::NotZip { .. }), "{err}");
    }

    #[test]
    fn inline_code_gets_the_runtime_file_name() {
        let tree = SourceTree::inline("Fn", "nodejs20.x", "exports.handler=1").expect("inline");
        assert_eq!(tree.files[0].path, "index.js");
        let tree = SourceTree::inline("Fn", "python3.12", "def handler(): pass").expect("py");
        assert_eq!(tree.files[0].path, "index.py");
        assert!(SourceTree::inline("Fn", "java21", "x").is_err());
    }

    #[cfg(unix)]
    mod unix {
        use std::os::unix::fs::{PermissionsExt, symlink};

        use super::*;

        fn mode_of(path: &Path) -> u32 {
            std::fs::metadata(path).expect("meta").permissions().mode() & 0o7777
        }

        fn chmod(path: &Path, mode: u32) {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }

        /// `<tmp>/project/fn/app.py` (the code) beside `<tmp>/outside/secret` (not the project).
        fn project_beside_a_secret() -> (tempfile::TempDir, PathBuf) {
            let dir = tempfile::tempdir().expect("tempdir");
            let project = dir.path().join("project");
            put(&project.join("fn/app.py"), "A = 1\n");
            put(&dir.path().join("outside/secret"), "secret\n");
            (dir, project)
        }

        fn load(project: &Path, allow_outside_links: bool) -> Result<SourceTree, BuildError> {
            reader(project, allow_outside_links).load_uri(owner(), "fn", &[])
        }

        #[test]
        fn copies_keep_their_permission_bits() {
            let dir = tempfile::tempdir().expect("tempdir");
            let code = dir.path().join("fn");
            for (name, mode) in [("key.pem", 0o600), ("bootstrap", 0o755), ("app.py", 0o644)] {
                put(&code.join(name), name);
                chmod(&code.join(name), mode);
            }
            let tree = reader(dir.path(), false)
                .load_uri(owner(), "fn", &[])
                .expect("load");
            let out = dir.path().join("out");
            tree.write_to(&out).expect("write");
            assert_eq!(mode_of(&out.join("key.pem")), 0o600);
            assert_eq!(mode_of(&out.join("bootstrap")), 0o755);
            assert_eq!(mode_of(&out.join("app.py")), 0o644);
        }

        #[test]
        fn a_link_to_a_file_outside_the_project_is_refused() {
            let (dir, project) = project_beside_a_secret();
            let secret = dir.path().join("outside/secret");
            for (link, target) in [
                ("absolute", secret.clone()),
                ("relative", PathBuf::from("../../outside/secret")),
            ] {
                let link_path = project.join("fn").join(link);
                symlink(&target, &link_path).expect("symlink");
                let err = load(&project, false).expect_err("outside");
                assert!(matches!(err, BuildError::OutsideLink { .. }), "{err}");
                let text = err.to_string();
                let resolved = secret.canonicalize().expect("canonical");
                assert!(
                    text.contains(&format!("fn/{link}"))
                        && text.contains(&*resolved.to_string_lossy()),
                    "{text}"
                );
                std::fs::remove_file(&link_path).expect("rm");
            }
        }

        #[test]
        fn a_chain_of_links_that_escapes_is_refused() {
            let (dir, project) = project_beside_a_secret();
            symlink(dir.path().join("outside"), project.join("hop")).expect("symlink");
            symlink("../hop/secret", project.join("fn/first")).expect("symlink");
            let err = load(&project, false).expect_err("outside");
            assert!(matches!(err, BuildError::OutsideLink { .. }), "{err}");
            assert!(err.to_string().contains("fn/first"), "{err}");
        }

        #[test]
        fn a_linked_directory_outside_the_project_is_refused() {
            let (dir, project) = project_beside_a_secret();
            symlink(dir.path().join("outside"), project.join("fn/vendor")).expect("symlink");
            let err = load(&project, false).expect_err("outside");
            assert!(matches!(err, BuildError::OutsideLink { .. }), "{err}");
        }

        #[test]
        fn links_within_the_project_are_copied_as_what_they_point_to() {
            let (_dir, project) = project_beside_a_secret();
            put(&project.join("shared/util.py"), "U = 1\n");
            chmod(&project.join("shared/util.py"), 0o600);
            symlink("../shared/util.py", project.join("fn/util.py")).expect("symlink");
            symlink("../shared", project.join("fn/lib")).expect("symlink");
            let tree = load(&project, false).expect("load");
            assert_eq!(paths(&tree), ["app.py", "lib/util.py", "util.py"]);
            let util = &tree.files[2];
            assert_eq!((util.bytes.as_slice(), util.mode), (&b"U = 1\n"[..], 0o600));

            let out = project.join("out");
            tree.write_to(&out).expect("write");
            let copied = std::fs::symlink_metadata(out.join("util.py")).expect("meta");
            assert!(copied.is_file(), "a regular file, not a link");
        }

        #[test]
        fn a_dangling_link_is_refused() {
            let (_dir, project) = project_beside_a_secret();
            symlink("missing.py", project.join("fn/gone.py")).expect("symlink");
            let err = load(&project, false).expect_err("dangling");
            assert!(matches!(err, BuildError::BrokenLink { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains("fn/gone.py") && text.contains("missing.py"),
                "{text}"
            );
        }

        #[test]
        fn a_directory_link_loop_is_refused_without_hanging() {
            for (link, target) in [("fn/self", "."), ("fn/a/back", "../../fn"), ("fn/up", "..")] {
                let (_dir, project) = project_beside_a_secret();
                let link_path = project.join(link);
                std::fs::create_dir_all(link_path.parent().expect("parent")).expect("mkdir");
                symlink(target, &link_path).expect("symlink");
                for allow_outside_links in [false, true] {
                    let err = load(&project, allow_outside_links).expect_err("loop");
                    assert!(matches!(err, BuildError::LinkLoop { .. }), "{link}: {err}");
                    assert!(err.to_string().contains(link), "{err}");
                }
            }
        }

        #[test]
        fn a_code_uri_outside_the_project_is_refused() {
            let (dir, project) = project_beside_a_secret();
            let absolute = dir.path().join("outside").to_string_lossy().into_owned();
            for uri in ["../outside", absolute.as_str()] {
                let err = reader(&project, false)
                    .load_uri(owner(), uri, &[])
                    .expect_err("outside");
                assert!(matches!(err, BuildError::OutsideCode { .. }), "{err}");
                assert!(err.to_string().contains("is outside the project"), "{err}");
            }
            symlink(dir.path().join("outside"), project.join("linked")).expect("symlink");
            let err = reader(&project, false)
                .load_uri(owner(), "linked", &[])
                .expect_err("linked");
            assert!(matches!(err, BuildError::OutsideCode { .. }), "{err}");
        }

        #[test]
        fn allowing_outside_links_copies_them_and_leaves_out_dangling_ones() {
            let (dir, project) = project_beside_a_secret();
            symlink(dir.path().join("outside/secret"), project.join("fn/secret")).expect("symlink");
            symlink(dir.path().join("outside"), project.join("fn/vendor")).expect("symlink");
            symlink("missing.py", project.join("fn/gone.py")).expect("symlink");
            let tree = load(&project, true).expect("load");
            assert_eq!(paths(&tree), ["app.py", "secret", "vendor/secret"]);
            assert_eq!(tree.files[1].bytes, b"secret\n");
            assert_eq!(tree.warnings.len(), 1, "{:?}", tree.warnings);
            assert!(
                tree.warnings[0].contains("fn/gone.py") && tree.warnings[0].contains("left out"),
                "{:?}",
                tree.warnings
            );

            let tree = reader(&project, true)
                .load_uri(owner(), "../outside", &[])
                .expect("outside code");
            assert_eq!(paths(&tree), ["secret"]);
        }
    }
}
