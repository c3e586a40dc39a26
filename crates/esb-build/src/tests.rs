//! End-to-end tests of `build_resolved` on projects built in temp dirs (no template engine).

use std::io::Write;
use std::path::Path;

use esb_model::artifacts::{self, FunctionsFile, ResourcesFile, RoutingFile};
use esb_model::{
    Architecture, Event, Function, Layer, LayerRef, PackageType, Project, UnsupportedResource,
};
use esb_template::Loaded;

use super::*;

/// A zip archive holding `entries` (name, content).
pub(crate) fn zip_bytes(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in entries {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("start");
        writer.write_all(content.as_bytes()).expect("write");
    }
    writer.finish().expect("finish").into_inner()
}

fn put(dir: &Path, path: &str, content: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

fn function(logical_id: &str, runtime: &str, code_uri: &str) -> Function {
    Function {
        logical_id: logical_id.into(),
        name: logical_id.into(),
        package_type: PackageType::Zip,
        runtime: Some(runtime.into()),
        handler: Some("app.handler".into()),
        code_uri: Some(code_uri.into()),
        inline_code: None,
        image_uri: None,
        memory_size: 128,
        timeout: 3,
        ephemeral_storage: 512,
        environment: Default::default(),
        layers: vec![],
        architectures: vec![Architecture::X86_64],
        reserved_concurrency: None,
        provisioned_concurrency: None,
        auto_publish_alias: None,
        build_method: None,
        function_url: None,
        events: vec![],
    }
}

fn resolved(dir: &Path, project: Project) -> Resolved {
    Resolved {
        template: dir.join("template.yaml"),
        project_dir: dir.to_owned(),
        generator: Generator::default(),
        loaded: Loaded {
            project,
            warnings: vec![],
        },
    }
}

fn build_in(dir: &Path, project: Project, options: BuildOptions) -> BuildReport {
    build_resolved(&resolved(dir, project), &options).expect("build")
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).expect("read")
}

/// Two python functions in `a/` and `b/`.
fn two_functions(dir: &Path) -> Project {
    put(dir, "a/app.py", "A = 1\n");
    put(dir, "b/app.py", "B = 1\n");
    Project {
        functions: vec![
            function("A", "python3.12", "a/"),
            function("B", "python3.12", "b"),
        ],
        ..Project::default()
    }
}

fn statuses(report: &BuildReport) -> Vec<(String, BuildStatus)> {
    report
        .functions
        .iter()
        .map(|f| (f.name.clone(), f.status))
        .collect()
}

#[test]
fn a_small_project_gets_its_layout_layers_dockerfile_and_artifacts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    put(root, "hello/app.py", "def handler(e, c): return 1\n");
    put(
        root,
        "layers/shared/python/greetings.py",
        "def greet(): pass\n",
    );
    put(root, "layers/built/util.py", "X = 1\n");
    let mut hello = function("Hello", "python3.12", "hello/");
    hello.layers = vec![
        LayerRef::Local {
            layer: "Shared".into(),
        },
        LayerRef::Local {
            layer: "Built".into(),
        },
        LayerRef::Arn {
            arn: "arn:aws:lambda:us-east-1:1:layer:x:1".into(),
        },
    ];
    hello.events = vec![Event {
        logical_id: "Nightly".into(),
        event_type: "Schedule".into(),
        method: None,
        path: None,
        properties: serde_json::json!({}),
    }];
    let mut inline = function("Inline", "nodejs20.x", "");
    inline.code_uri = None;
    inline.inline_code = Some("exports.handler = async () => 1;".into());
    inline.architectures = vec![Architecture::Arm64];
    let mut image = function("Image", "python3.12", "");
    image.package_type = PackageType::Image;
    image.image_uri = Some("my/image:1".into());
    let layer = |id: &str, uri: &str, method: Option<&str>| Layer {
        logical_id: id.into(),
        name: id.into(),
        content_uri: uri.into(),
        compatible_runtimes: vec!["python3.12".into()],
        build_method: method.map(Into::into),
    };
    let project = Project {
        functions: vec![hello, inline, image],
        layers: vec![
            layer("Shared", "layers/shared/", None),
            layer("Built", "layers/built", Some("python3.12")),
        ],
        unsupported: vec![UnsupportedResource {
            logical_id: "Queue".into(),
            resource_type: "AWS::SQS::Queue".into(),
        }],
        ..Project::default()
    };
    let report = build_in(root, project, BuildOptions::default());

    let esb = root.join(".esb");
    assert_eq!(
        read(esb.join("functions/Hello/task/app.py")),
        "def handler(e, c): return 1\n"
    );
    assert!(
        esb.join("functions/Hello/opt/python/greetings.py")
            .is_file()
    );
    assert!(
        esb.join("functions/Hello/opt/python/util.py").is_file(),
        "BuildMethod → python/"
    );
    assert!(esb.join("functions/Inline/task/index.js").is_file());
    assert!(
        !esb.join("functions/Image").exists(),
        "image functions get no directory"
    );

    let dockerfile = read(esb.join("functions/Hello/Dockerfile"));
    assert!(dockerfile.contains("FROM --platform=linux/amd64 public.ecr.aws/lambda/python:3.12\n"));
    assert!(dockerfile.contains("COPY opt/ /opt/\nCOPY task/ /var/task/\nCMD [\"app.handler\"]\n"));
    let node = read(esb.join("functions/Inline/Dockerfile"));
    assert!(
        node.contains("FROM --platform=linux/arm64 public.ecr.aws/lambda/nodejs:20\n"),
        "{node}"
    );

    let functions: FunctionsFile =
        artifacts::read(&esb.join("config/functions.yml")).expect("read");
    let hello = &functions.functions[0];
    assert_eq!(
        hello.task_root.as_deref(),
        Some(".esb/functions/Hello/task")
    );
    assert_eq!(hello.opt_dir.as_deref(), Some(".esb/functions/Hello/opt"));
    assert_eq!(functions.functions[2].task_root, None);
    assert_eq!(functions.layers.len(), 2);
    let _: RoutingFile = artifacts::read(&esb.join("config/routing.yml")).expect("routing");
    let _: ResourcesFile = artifacts::read(&esb.join("config/resources.yml")).expect("resources");

    assert_eq!(
        statuses(&report),
        [
            ("Hello".to_string(), BuildStatus::Built),
            ("Inline".to_string(), BuildStatus::Built),
            ("Image".to_string(), BuildStatus::Image),
        ]
    );
    assert_eq!(
        report.unserved_events[0].to_string(),
        "function Hello event Nightly of type Schedule is not served yet"
    );
    assert_eq!(report.unsupported.len(), 1);
    assert!(
        report.warnings.iter().any(|w| w.contains("arn:aws:lambda")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn zip_code_is_extracted_and_zip_slip_fails_the_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("code.zip"),
        zip_bytes(&[("app.py", "A = 1\n")]),
    )
    .expect("zip");
    let project = Project {
        functions: vec![function("Zipped", "python3.12", "code.zip")],
        ..Project::default()
    };
    build_in(dir.path(), project.clone(), BuildOptions::default());
    assert!(
        dir.path()
            .join(".esb/functions/Zipped/task/app.py")
            .is_file()
    );

    std::fs::write(
        dir.path().join("code.zip"),
        zip_bytes(&[("../evil.py", "x")]),
    )
    .expect("zip");
    let err = build_resolved(&resolved(dir.path(), project), &BuildOptions::default())
        .expect_err("zip slip");
    assert!(matches!(err, BuildError::ZipSlip { .. }), "{err}");
    assert!(!dir.path().join(".esb/functions/evil.py").exists());
}

#[test]
fn s3_and_missing_code_errors_name_the_function_and_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = Project {
        functions: vec![function("Remote", "python3.12", "s3://bucket/key.zip")],
        ..Project::default()
    };
    let err =
        build_resolved(&resolved(dir.path(), project), &BuildOptions::default()).expect_err("s3");
    assert_eq!(
        err.to_string(),
        "Remote: CodeUri s3://bucket/key.zip cannot be fetched here"
    );

    let project = Project {
        functions: vec![function("Gone", "python3.12", "nowhere/")],
        ..Project::default()
    };
    let err = build_resolved(&resolved(dir.path(), project), &BuildOptions::default())
        .expect_err("missing");
    let text = err.to_string();
    assert!(text.contains("Gone") && text.contains("nowhere"), "{text}");
}

#[test]
fn unsafe_and_duplicate_names_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut project = two_functions(dir.path());
    project.functions[1].name = "A".into();
    let err = build_resolved(
        &resolved(dir.path(), project.clone()),
        &BuildOptions::default(),
    )
    .expect_err("duplicate");
    assert!(matches!(err, BuildError::DuplicateName { .. }), "{err}");
    project.functions[1].name = "../escape".into();
    let err = build_resolved(&resolved(dir.path(), project), &BuildOptions::default())
        .expect_err("unsafe");
    assert!(matches!(err, BuildError::BadName { .. }), "{err}");
}

#[test]
fn unchanged_functions_are_skipped_and_a_touched_one_is_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = two_functions(dir.path());
    let first = build_in(dir.path(), project.clone(), BuildOptions::default());
    assert_eq!(first.count(BuildStatus::Built), 2);
    let second = build_in(dir.path(), project.clone(), BuildOptions::default());
    assert_eq!(second.count(BuildStatus::Unchanged), 2);

    put(dir.path(), "b/app.py", "B = 2\n");
    let third = build_in(dir.path(), project.clone(), BuildOptions::default());
    assert_eq!(
        statuses(&third),
        [
            ("A".to_string(), BuildStatus::Unchanged),
            ("B".to_string(), BuildStatus::Built)
        ]
    );
    assert_eq!(
        read(dir.path().join(".esb/functions/B/task/app.py")),
        "B = 2\n"
    );

    let forced = BuildOptions {
        no_cache: true,
        ..BuildOptions::default()
    };
    assert_eq!(
        build_in(dir.path(), project, forced).count(BuildStatus::Built),
        2
    );
}

#[test]
fn a_deleted_source_file_disappears_from_the_task_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = two_functions(dir.path());
    put(dir.path(), "a/old.py", "");
    build_in(dir.path(), project.clone(), BuildOptions::default());
    std::fs::remove_file(dir.path().join("a/old.py")).expect("rm");
    build_in(dir.path(), project, BuildOptions::default());
    assert!(!dir.path().join(".esb/functions/A/task/old.py").exists());
}

#[test]
fn config_files_are_byte_identical_across_builds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = two_functions(dir.path());
    let config = |dir: &Path| {
        ["functions.yml", "routing.yml", "resources.yml"]
            .map(|name| read(dir.join(".esb/config").join(name)))
    };
    build_in(dir.path(), project.clone(), BuildOptions::default());
    let first = config(dir.path());
    let forced = BuildOptions {
        no_cache: true,
        ..BuildOptions::default()
    };
    build_in(dir.path(), project, forced);
    assert_eq!(first, config(dir.path()));
}

#[test]
fn dry_run_reports_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = two_functions(dir.path());
    let options = BuildOptions {
        dry_run: true,
        ..BuildOptions::default()
    };
    let report = build_in(dir.path(), project, options);
    assert_eq!(report.count(BuildStatus::WouldBuild), 2);
    assert!(
        report
            .written
            .contains(&".esb/config/functions.yml".to_string())
    );
    assert!(report.written.contains(&".esb/functions/A".to_string()));
    assert!(!dir.path().join(".esb").exists());
}

#[test]
fn functions_removed_from_the_template_lose_their_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut project = two_functions(dir.path());
    build_in(dir.path(), project.clone(), BuildOptions::default());
    project.functions.pop();
    let report = build_in(dir.path(), project, BuildOptions::default());
    assert_eq!(report.removed, [".esb/functions/B"]);
    assert!(!dir.path().join(".esb/functions/B").exists());
    assert!(dir.path().join(".esb/functions/A/task/app.py").is_file());
}

#[test]
fn the_output_dir_inside_the_code_dir_is_not_copied() {
    let dir = tempfile::tempdir().expect("tempdir");
    put(dir.path(), "app.py", "");
    let project = Project {
        functions: vec![function("Root", "python3.12", ".")],
        ..Project::default()
    };
    build_in(dir.path(), project.clone(), BuildOptions::default());
    build_in(
        dir.path(),
        project,
        BuildOptions {
            no_cache: true,
            ..BuildOptions::default()
        },
    );
    assert!(dir.path().join(".esb/functions/Root/task/app.py").is_file());
    assert!(!dir.path().join(".esb/functions/Root/task/.esb").exists());
}

/// Needs python3 with pip and access to PyPI (as CI has).
#[test]
fn requirements_are_installed_into_the_task_dir_with_pip() {
    let dir = tempfile::tempdir().expect("tempdir");
    put(dir.path(), "fn/app.py", "import six\n");
    put(dir.path(), "fn/requirements.txt", "six==1.16.0\n");
    let project = Project {
        functions: vec![function("Deps", "python3.12", "fn")],
        ..Project::default()
    };
    let report = build_in(dir.path(), project.clone(), BuildOptions::default());
    assert_eq!(report.functions[0].installs, ["pip: requirements.txt"]);
    assert!(dir.path().join(".esb/functions/Deps/task/six.py").is_file());
    assert!(dir.path().join(".esb/functions/Deps/task/app.py").is_file());
    let again = build_in(dir.path(), project, BuildOptions::default());
    assert_eq!(again.functions[0].status, BuildStatus::Unchanged);
    assert!(again.functions[0].installs.is_empty());
}

/// Needs python3 with pip and access to PyPI (as CI has).
#[test]
fn a_python_layer_with_build_method_gets_its_requirements_in_opt_python() {
    let dir = tempfile::tempdir().expect("tempdir");
    put(dir.path(), "fn/app.py", "");
    put(dir.path(), "layer/helpers.py", "");
    put(dir.path(), "layer/requirements.txt", "six==1.16.0\n");
    let mut with_layer = function("WithLayer", "python3.12", "fn");
    with_layer.layers = vec![LayerRef::Local {
        layer: "Deps".into(),
    }];
    let project = Project {
        functions: vec![with_layer],
        layers: vec![Layer {
            logical_id: "Deps".into(),
            name: "Deps".into(),
            content_uri: "layer".into(),
            compatible_runtimes: vec![],
            build_method: Some("python3.12".into()),
        }],
        ..Project::default()
    };
    let report = build_in(dir.path(), project, BuildOptions::default());
    assert_eq!(report.layers[0].installs, ["pip: requirements.txt"]);
    let opt = dir.path().join(".esb/functions/WithLayer/opt/python");
    assert!(opt.join("six.py").is_file());
    assert!(opt.join("helpers.py").is_file());
}

#[test]
fn an_unknown_build_method_warns_and_copies_the_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    put(dir.path(), "fn/index.js", "exports.handler = 1;\n");
    let mut bundled = function("Bundled", "nodejs20.x", "fn");
    bundled.build_method = Some("esbuild".into());
    let mut same = function("Same", "nodejs20.x", "fn");
    same.build_method = Some("nodejs20.x".into());
    let project = Project {
        functions: vec![bundled, same],
        ..Project::default()
    };
    let report = build_in(dir.path(), project, BuildOptions::default());
    assert_eq!(
        report.warnings,
        ["function Bundled: BuildMethod esbuild is not built here; its code is copied as is"]
    );
    let esb = dir.path().join(".esb/functions");
    assert!(esb.join("Bundled/task/index.js").is_file());
    assert!(esb.join("Same/task/index.js").is_file());
}

fn rust_function(logical_id: &str, code_uri: &str) -> Function {
    let mut rust = function(logical_id, "provided.al2023", code_uri);
    rust.handler = Some("bootstrap".into());
    rust.build_method = Some("rust-cargolambda".into());
    rust
}

#[test]
fn a_rust_function_needs_a_crate_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("code.zip"),
        zip_bytes(&[("bootstrap", "x")]),
    )
    .expect("zip");
    put(dir.path(), "empty/README", "");
    for uri in ["code.zip", "empty"] {
        let project = Project {
            functions: vec![rust_function("Rusty", uri)],
            ..Project::default()
        };
        let err = build_resolved(&resolved(dir.path(), project), &BuildOptions::default())
            .expect_err("not a crate");
        assert!(matches!(err, BuildError::NotACrate { .. }), "{err}");
        assert!(err.to_string().contains("Rusty"), "{err}");
    }
}

/// Needs cargo (no network: the crate has no dependencies).
#[test]
fn a_failing_cargo_build_names_the_function_and_shows_the_compiler_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    put(
        dir.path(),
        "app/Cargo.toml",
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    put(
        dir.path(),
        "app/src/main.rs",
        "fn main() { let x: u32 = \"no\"; }\n",
    );
    let project = Project {
        functions: vec![rust_function("Broken", "app")],
        ..Project::default()
    };
    // No Cargo.lock: --locked refuses to create one.
    let err = build_resolved(
        &resolved(dir.path(), project.clone()),
        &BuildOptions::default(),
    )
    .expect_err("no lock file");
    let text = err.to_string();
    assert!(matches!(err, BuildError::Compile { .. }), "{text}");
    assert!(
        text.contains("function Broken") && text.contains("--locked"),
        "{text}"
    );

    put(
        dir.path(),
        "app/Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"broken\"\nversion = \"0.1.0\"\n",
    );
    let err = build_resolved(&resolved(dir.path(), project), &BuildOptions::default())
        .expect_err("type error");
    let text = err.to_string();
    assert!(
        text.contains("function Broken") && text.contains("mismatched types"),
        "{text}"
    );
    assert!(
        dir.path().join(".esb/cache/cargo-target").is_dir(),
        "cargo builds under the output dir"
    );
}

#[test]
fn code_and_layers_outside_the_project_are_built_only_when_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project_dir = dir.path().join("project");
    put(&project_dir, "fn/app.py", "A = 1\n");
    put(dir.path(), "shared/python/util.py", "U = 1\n");
    let mut with_layer = function("Fn", "python3.12", "fn");
    with_layer.layers = vec![LayerRef::Local {
        layer: "Shared".into(),
    }];
    let project = Project {
        functions: vec![with_layer],
        layers: vec![Layer {
            logical_id: "Shared".into(),
            name: "Shared".into(),
            content_uri: "../shared".into(),
            compatible_runtimes: vec![],
            build_method: None,
        }],
        ..Project::default()
    };
    let err = build_resolved(
        &resolved(&project_dir, project.clone()),
        &BuildOptions::default(),
    )
    .expect_err("outside");
    assert_eq!(
        err.to_string(),
        format!(
            "Shared: ContentUri ../shared is outside the project ({})",
            dir.path()
                .join("shared")
                .canonicalize()
                .expect("canonical")
                .display()
        )
    );

    let allowed = BuildOptions {
        allow_outside_links: true,
        ..BuildOptions::default()
    };
    build_in(&project_dir, project, allowed);
    assert!(
        project_dir
            .join(".esb/functions/Fn/opt/python/util.py")
            .is_file()
    );
}

#[cfg(unix)]
#[test]
fn modes_are_kept_in_task_and_opt_and_a_later_layer_replaces_a_read_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let mode_of = |path: &Path| std::fs::metadata(path).expect("meta").permissions().mode() & 0o777;
    let chmod = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    put(root, "fn/app.py", "");
    put(root, "fn/key.pem", "key");
    chmod(&root.join("fn/key.pem"), 0o600);
    put(root, "first/bin/tool", "first");
    chmod(&root.join("first/bin/tool"), 0o555);
    put(root, "second/bin/tool", "second");
    chmod(&root.join("second/bin/tool"), 0o755);
    let mut fn_with_layers = function("Fn", "python3.12", "fn");
    let layer = |id: &str| Layer {
        logical_id: id.into(),
        name: id.into(),
        content_uri: id.to_lowercase(),
        compatible_runtimes: vec![],
        build_method: None,
    };
    fn_with_layers.layers = ["First", "Second"]
        .map(|id| LayerRef::Local { layer: id.into() })
        .to_vec();
    let project = Project {
        functions: vec![fn_with_layers],
        layers: vec![layer("First"), layer("Second")],
        ..Project::default()
    };
    build_in(root, project, BuildOptions::default());
    let function_dir = root.join(".esb/functions/Fn");
    assert_eq!(mode_of(&function_dir.join("task/key.pem")), 0o600);
    let tool = function_dir.join("opt/bin/tool");
    assert_eq!((read(&tool).as_str(), mode_of(&tool)), ("second", 0o755));
}
