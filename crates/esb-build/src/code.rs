//! Function and layer code: read once into memory from a directory, a `.zip` archive or
//! `InlineCode`, then hashed (see `fingerprint`) and written out from the same bytes, each file
//! with its permission bits.
//!
//! A directory is copied whole except `.esb`, `.aws-sam`, `.git`, `__pycache__`, the output
//! directory itself, `node_modules` when a `package.json` beside it will have npm
//! recreate it, and the top-level directories a build method names (cargo's `target`).

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::BuildError;

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
}

/// What a `CodeUri`/`ContentUri` belongs to, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub logical_id: &'a str,
    pub property: &'static str,
}

impl SourceTree {
    pub fn contains(&self, path: &str) -> bool {
        self.files.iter().any(|file| file.path == path)
    }

    /// Loads a local directory or `.zip` (relative to `base_dir`); `excluded` is the output
    /// directory, never copied even when it lies inside the code directory, and `skipped_top`
    /// names top-level directories left out as well.
    pub fn load_uri(
        owner: Owner<'_>,
        uri: &str,
        base_dir: &Path,
        excluded: &Path,
        skipped_top: &[&str],
    ) -> Result<SourceTree, BuildError> {
        if uri.starts_with("s3://") {
            return Err(BuildError::S3Uri {
                logical_id: owner.logical_id.to_string(),
                property: owner.property,
                uri: uri.to_string(),
            });
        }
        let path = base_dir.join(uri);
        let metadata = std::fs::metadata(&path).map_err(|_| BuildError::MissingCode {
            logical_id: owner.logical_id.to_string(),
            property: owner.property,
            path: path.clone(),
        })?;
        if metadata.is_dir() {
            load_dir(&path, excluded, skipped_top)
        } else if path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("zip"))
        {
            let bytes = std::fs::read(&path).map_err(BuildError::io("read", &path))?;
            load_zip(&path, &bytes)
        } else {
            Err(BuildError::NotZip {
                logical_id: owner.logical_id.to_string(),
                property: owner.property,
                path,
            })
        }
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
            origin_dir: None,
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

fn load_dir(dir: &Path, excluded: &Path, skipped_top: &[&str]) -> Result<SourceTree, BuildError> {
    let root = dir.canonicalize().map_err(BuildError::io("read", dir))?;
    let excluded = excluded
        .canonicalize()
        .unwrap_or_else(|_| excluded.to_owned());
    let skip_node_modules = root.join("package.json").is_file();
    let walker = walkdir::WalkDir::new(&root)
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
            !skipped_name && entry.path() != excluded
        });
    let mut files = Vec::new();
    for entry in walker {
        let entry = entry.map_err(|err| {
            let path = err.path().unwrap_or(&root).to_owned();
            BuildError::Io {
                action: "read",
                path,
                error: err.into(),
            }
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let bytes = std::fs::read(path).map_err(BuildError::io("read", path))?;
        let relative = path.strip_prefix(&root).unwrap_or(path);
        files.push(SourceFile {
            path: slash_path(relative),
            bytes,
            mode: file_mode(&entry)?,
        });
    }
    Ok(SourceTree {
        files,
        origin_dir: Some(root),
    })
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
        origin_dir: None,
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

    #[test]
    fn a_directory_is_read_without_skipped_dirs_and_the_output_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for file in [
            "app.py",
            "pkg/mod.py",
            ".git/HEAD",
            "__pycache__/x.pyc",
            "out/skip",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, file).expect("write");
        }
        let tree = SourceTree::load_uri(owner(), ".", root, &root.join("out"), &[]).expect("load");
        let paths: Vec<&str> = tree.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["app.py", "pkg/mod.py"]);
    }

    #[test]
    fn named_top_level_dirs_are_skipped_but_not_deeper_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in ["Cargo.toml", "target/release/app", "src/target/x.rs"] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, file).expect("write");
        }
        let excluded = dir.path().join(".esb");
        let tree =
            SourceTree::load_uri(owner(), ".", dir.path(), &excluded, &["target"]).expect("load");
        let paths: Vec<&str> = tree.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["Cargo.toml", "src/target/x.rs"]);
    }

    #[test]
    fn node_modules_is_skipped_only_beside_package_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("node_modules/x")).expect("mkdir");
        std::fs::write(dir.path().join("node_modules/x/i.js"), "").expect("write");
        let excluded = dir.path().join(".esb");
        let tree = SourceTree::load_uri(owner(), ".", dir.path(), &excluded, &[]).expect("load");
        assert!(tree.contains("node_modules/x/i.js"));
        std::fs::write(dir.path().join("package.json"), "{}").expect("write");
        let tree = SourceTree::load_uri(owner(), ".", dir.path(), &excluded, &[]).expect("load");
        assert!(!tree.contains("node_modules/x/i.js"));
    }

    #[test]
    fn zip_archives_are_extracted_and_zip_slip_is_rejected() {
        let path = Path::new("code.zip");
        let tree = load_zip(path, &zip_bytes(&[("b/app.py", "x"), ("a.txt", "y")])).expect("zip");
        let paths: Vec<&str> = tree.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["a.txt", "b/app.py"]);

        let err = load_zip(path, &zip_bytes(&[("../../evil.py", "x")])).expect_err("slip");
        assert!(matches!(err, BuildError::ZipSlip { .. }), "{err}");
        assert!(err.to_string().contains("../../evil.py"), "{err}");
        let err = load_zip(path, &zip_bytes(&[("/etc/passwd", "x")])).expect_err("absolute");
        assert!(matches!(err, BuildError::ZipSlip { .. }), "{err}");
        let err = load_zip(path, b"not a zip").expect_err("garbage");
        assert!(matches!(err, BuildError::Zip { .. }), "{err}");
    }

    #[test]
    fn s3_missing_and_non_zip_uris_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let excluded = dir.path().join(".esb");
        let err = SourceTree::load_uri(owner(), "s3://bucket/code.zip", dir.path(), &excluded, &[])
            .expect_err("s3");
        let text = err.to_string();
        assert!(
            text.contains("Fn") && text.contains("CodeUri s3://bucket/code.zip"),
            "{text}"
        );
        let err = SourceTree::load_uri(owner(), "missing/", dir.path(), &excluded, &[])
            .expect_err("missing");
        assert!(matches!(err, BuildError::MissingCode { .. }), "{err}");
        std::fs::write(dir.path().join("code.tar"), "x").expect("write");
        let err = SourceTree::load_uri(owner(), "code.tar", dir.path(), &excluded, &[])
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

    #[cfg(unix)]
    #[test]
    fn copies_keep_their_permission_bits() {
        use std::os::unix::fs::PermissionsExt;
        let mode_of =
            |path: &Path| std::fs::metadata(path).expect("meta").permissions().mode() & 0o7777;
        let dir = tempfile::tempdir().expect("tempdir");
        let code = dir.path().join("fn");
        std::fs::create_dir_all(&code).expect("mkdir");
        for (name, mode) in [("key.pem", 0o600), ("bootstrap", 0o755), ("app.py", 0o644)] {
            std::fs::write(code.join(name), name).expect("write");
            std::fs::set_permissions(code.join(name), std::fs::Permissions::from_mode(mode))
                .expect("chmod");
        }
        let excluded = dir.path().join(".esb");
        let tree = SourceTree::load_uri(owner(), "fn", dir.path(), &excluded, &[]).expect("load");
        let out = dir.path().join("out");
        tree.write_to(&out).expect("write");
        assert_eq!(mode_of(&out.join("key.pem")), 0o600);
        assert_eq!(mode_of(&out.join("bootstrap")), 0o755);
        assert_eq!(mode_of(&out.join("app.py")), 0o644);
    }
}
